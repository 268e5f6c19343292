"""Grade-weighted MultipleNegativesRankingLoss for sentence-transformers 6 (the SSRA loss).

    from weighted_loss import GradeWeightedMultipleNegativesRankingLoss
    loss = GradeWeightedMultipleNegativesRankingLoss(model, scale=20.0)

L = (1/B) * sum_i w_i * InfoNCE_i, with w_i the row's weight. sentence-transformers' data collator takes the
first of the columns "label", "labels", "score", "scores" as the label tensor and passes it to
`loss.forward(sentence_features, labels)`; every other column, in dataset order, is a text column:
anchor, positive, negative_1 .. negative_k. So the ssra export's rows {"anchor", "positive", "negative_1".. ,
"score"} train with `score` as w_i. The stock MultipleNegativesRankingLoss ignores the labels; this subclass
computes the same per-row InfoNCE (same scale, directions, partition mode, hardness options, cross-device
gathering) and multiplies each row's term by its weight before averaging over the batch. With every weight 1 it
equals MultipleNegativesRankingLoss exactly; a row of weight 0 contributes nothing (it still serves as an
in-batch negative for the other rows).

The per-row computation mirrors MultipleNegativesRankingLoss.compute_loss_from_embeddings of
sentence-transformers 6.0.1; the tests compare the two.
"""

from __future__ import annotations

import torch

try:
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
except ImportError:  # sentence-transformers < 6
    from sentence_transformers.losses import MultipleNegativesRankingLoss
from sentence_transformers.util import all_gather_with_grad, get_rank
from torch import Tensor


class GradeWeightedMultipleNegativesRankingLoss(MultipleNegativesRankingLoss):
    """MultipleNegativesRankingLoss with each row's InfoNCE multiplied by its label (the row's weight)."""

    def per_row_loss(self, embeddings: list[Tensor]) -> Tensor:
        """InfoNCE of each of this process's rows: [batch_size]."""
        if len(embeddings) < 2:
            raise ValueError(f"Expected at least 2 embeddings, got {len(embeddings)}")
        queries = embeddings[0]
        docs = embeddings[1:]
        batch_size = queries.size(0)
        offset = 0
        if self.gather_across_devices:
            queries = all_gather_with_grad(queries)
            docs = [all_gather_with_grad(doc) for doc in docs]
            offset = get_rank() * batch_size
        world_batch_size = queries.size(0)
        docs_all = torch.cat(docs, dim=0)
        docs_pos = docs[0]
        local_indices = torch.arange(offset, offset + batch_size, device=queries.device)
        row_indices = torch.arange(batch_size, device=queries.device)
        local_queries = queries[local_indices]
        local_docs = docs_pos[local_indices]

        sim = {"query_to_doc": self.similarity_fct(local_queries, docs_all)}
        if "query_to_query" in self.directions:
            sim["query_to_query"] = self.similarity_fct(local_queries, queries)
            sim["query_to_query"][row_indices, local_indices] = -torch.inf
        if "doc_to_query" in self.directions:
            sim["doc_to_query"] = self.similarity_fct(queries, local_docs).T
        if "doc_to_doc" in self.directions:
            sim["doc_to_doc"] = self.similarity_fct(docs_all, local_docs).T
            same = torch.eye(world_batch_size, device=queries.device)[local_indices].repeat(1, len(docs)).bool()
            sim["doc_to_doc"].masked_fill_(same, -torch.inf)

        penalties = {}
        if (
            self.hardness_mode in ("in_batch_negatives", "hard_negatives", "all_negatives")
            and self.hardness_strength > 0
        ):
            penalty = self.hardness_strength * sim["query_to_doc"].detach()
            own = torch.eye(world_batch_size, device=queries.device, dtype=torch.bool)[local_indices].repeat(
                1, len(docs)
            )
            if self.hardness_mode == "hard_negatives":
                exclude = ~own
                exclude[:, :world_batch_size] = True
            elif self.hardness_mode == "in_batch_negatives":
                exclude = own
            else:
                exclude = own
                exclude[:, world_batch_size:] = False
            penalty[exclude] = 0.0
            penalties["query_to_doc"] = penalty

        for key in sim:
            sim[key] = sim[key] * self.scale
        for key, pen in penalties.items():
            sim[key] = sim[key] + pen
        positive_scores = sim["query_to_doc"][row_indices, local_indices]
        if self.partition_mode == "joint":
            log_z = torch.logsumexp(torch.cat(list(sim.values()), dim=1), dim=1)
        else:
            log_z = 0.0
            for matrix in sim.values():
                log_z += torch.logsumexp(matrix, dim=1)
            log_z /= len(sim)
        return -(positive_scores - log_z)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor | None) -> Tensor:
        losses = self.per_row_loss(embeddings)
        if labels is None:
            return losses.mean()
        weights = labels.to(device=losses.device, dtype=losses.dtype).reshape(-1)
        if weights.shape[0] != losses.shape[0]:
            raise ValueError(f"{weights.shape[0]} weights for {losses.shape[0]} rows")
        return (weights * losses).mean()
