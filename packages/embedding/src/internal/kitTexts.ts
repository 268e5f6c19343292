/// <reference path="./rawText.d.ts" />
/**
 * The repo's one copy of the launch kit's Python, imported as text: vitest reads `?raw` natively and the shared tsup
 * preset's plugin inlines the text into `dist/`. Imported only dynamically (`launchKit.ts`'s `loadTexts`), because
 * a runner without a `?raw` loader (tsx) cannot load this module.
 */
import requirements from "../../../../python/requirements.txt?raw"
import encode from "../../../../python/ssra_kits/encode.py?raw"
import trainEmbedding from "../../../../python/ssra_kits/train_embedding.py?raw"

export const texts: { readonly requirements: string; readonly encode: string; readonly trainEmbedding: string } = {
  requirements,
  encode,
  trainEmbedding
}
