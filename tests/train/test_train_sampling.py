"""Training batches: a function of seed and epoch, procedure pairs, resumable at any step."""

from __future__ import annotations

from hierskp.train.sampling import StepBatchSampler, epoch_batches


def test_data_order_is_a_function_of_seed_and_epoch():
    groups = ["a", "a", "b", "b", "c", "c", "d", "d", "a", "b"]
    first = epoch_batches(groups, 4, seed=1, epoch=0)
    assert [len(b) for b in first] == [4, 4]  # the partial batch is dropped
    assert first == epoch_batches(groups, 4, seed=1, epoch=0)
    assert first != epoch_batches(groups, 4, seed=1, epoch=1)
    full = list(StepBatchSampler(groups, 4, seed=1, total_steps=7))
    assert list(StepBatchSampler(groups, 4, seed=1, total_steps=7, start_step=3)) == full[3:]
    paired = ["a", "a", "b", "b", "c", "c", "d", "d"]  # procedure batches: each batch = two same-procedure pairs
    for epoch in range(3):
        for b in epoch_batches(paired, 4, seed=1, epoch=epoch):
            assert paired[b[0]] == paired[b[1]] and paired[b[2]] == paired[b[3]]
    flat = epoch_batches(paired, 8, seed=1, epoch=0, procedure_batches=False)
    assert sorted(flat[0]) == list(range(8))
