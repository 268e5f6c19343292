/// <reference path="./rawText.d.ts" />
/**
 * The repo's one copy of the SFT kit's Python side, imported as text: vitest reads `?raw` natively and the shared tsup
 * preset's plugin inlines the text into `dist/`. Imported only dynamically (`sftKitFiles.ts`'s `loadTexts`), because
 * a runner without a `?raw` loader (tsx) cannot load this module.
 */
import requirements from "../../../../python/requirements.txt?raw"
import dsZero2 from "../../../../python/ssra_kits/ds_zero2.json?raw"
import sftTrain from "../../../../python/ssra_kits/sft_train.py?raw"

export const texts: { readonly requirements: string; readonly dsZero2: string; readonly sftTrain: string } = {
  requirements,
  dsZero2,
  sftTrain
}
