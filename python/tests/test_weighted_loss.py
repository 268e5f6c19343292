from __future__ import annotations

import pytest
import torch

from weighted_loss import GradeWeightedMultipleNegativesRankingLoss


@pytest.fixture(scope="module")
def st_model(tiny):
    from train_sentence_transformers import build_model

    return build_model(tiny["dirs"]["embedding"], "lasttoken", 48)


def embeddings(seed: int, columns: int = 3, batch: int = 5, dim: int = 64):
    g = torch.Generator().manual_seed(seed)
    return [
        torch.nn.functional.normalize(torch.randn(batch, dim, generator=g), dim=-1).requires_grad_()
        for _ in range(columns)
    ]


OPTIONS = [
    {},
    {"scale": 33.0},
    {"directions": ("query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc")},
    {"directions": ("query_to_doc", "doc_to_query"), "partition_mode": "per_direction"},
    {"hardness_mode": "all_negatives", "hardness_strength": 5.0},
]


@pytest.mark.parametrize("options", OPTIONS)
def test_weight_one_equals_mnrl_exactly(st_model, options):
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    stock = MultipleNegativesRankingLoss(st_model, **options)
    weighted = GradeWeightedMultipleNegativesRankingLoss(st_model, **options)
    embs = embeddings(0)
    expected = stock.compute_loss_from_embeddings(embs, None)
    assert torch.equal(weighted.compute_loss_from_embeddings(embs, torch.ones(5)), expected)
    assert torch.equal(weighted.compute_loss_from_embeddings(embs, torch.ones(5, dtype=torch.long)), expected)
    assert torch.equal(weighted.compute_loss_from_embeddings(embs, None), expected)


def test_weights_scale_rows_and_zero_weight_adds_nothing(st_model):
    loss = GradeWeightedMultipleNegativesRankingLoss(st_model)
    embs = embeddings(1)
    rows = loss.per_row_loss(embs)
    w = torch.tensor([1.0, 0.0, 2 / 3, 1 / 3, 1.0])
    assert torch.allclose(loss.compute_loss_from_embeddings(embs, w), (w * rows).sum() / 5)
    loss.compute_loss_from_embeddings(embs, w).backward()
    queries = embs[0]
    # a zero-weight row's query gets no gradient (with query_to_doc only, it appears in its own term alone) ...
    assert torch.all(queries.grad[1] == 0) and torch.all(queries.grad[0] != 0)
    # ... while its documents still serve as in-batch negatives for the other rows
    assert torch.any(embs[1].grad[1] != 0)


def test_forward_takes_the_score_column_as_labels(st_model, tmp_path):
    """Through the trainer's collator: the `score` column becomes `labels`, the rest are text columns."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

    data = Dataset.from_dict(
        {
            "anchor": ["感冒吃什么", "发烧怎么办", "头疼"],
            "positive": ["感冒吃什么药好", "发烧了怎么办", "头疼怎么缓解"],
            "negative_1": ["胃疼", "牙疼", "腿疼"],
            "score": [1.0, 0.0, 0.5],
        }
    )
    loss = GradeWeightedMultipleNegativesRankingLoss(st_model)
    args = SentenceTransformerTrainingArguments(output_dir=str(tmp_path), report_to="none", max_steps=1)
    trainer = SentenceTransformerTrainer(model=st_model, args=args, train_dataset=data, loss=loss)
    batch = trainer.data_collator([data[i] for i in range(3)])
    features, labels = trainer.collect_features(batch)
    assert len(features) == 3 and labels.tolist() == [1.0, 0.0, 0.5]
    with torch.no_grad():
        embs = [st_model(f)["sentence_embedding"] for f in features]
        by_hand = (labels * loss.per_row_loss(embs)).mean()
        assert torch.allclose(loss(features, labels), by_hand, atol=1e-6)
