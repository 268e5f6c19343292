// @ssra/embedding: the dual encoder's hashed text features (character n-grams and words).
import { Featurizer } from "@ssra/embedding"

const featurizer = Featurizer.make()
const ids = featurizer.featurize("宝宝发烧怎么办")
if (ids.length === 0) throw new Error("no features")
console.log("embedding:", ids.length, "features, e.g.", featurizer.features("宝宝发烧怎么办").slice(0, 3).join(" "))
