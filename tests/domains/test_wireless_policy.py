"""Power-allocation policies: equivariance to relabelling the pairs, powers within [0, P_max],
the Lagrangian loss, and running a policy with the dual dynamics."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gnncli.domains.wireless.policy import DualDynamics, PowerTask, Scales, execute, make_batch, scores_to_powers
from gnncli.domains.wireless.rates import rates
from gnncli.domains.wireless.layers import DenseGraphFilter, DenseLEConv, PowerPolicy


def networks(B=3, T=4, m=6, seed=0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).exponential(50.0, (B, T, m, m)).astype(np.float32))


@pytest.mark.parametrize("layer", ["leconv", "filter"])
def test_relabelling_the_pairs_permutes_the_powers(layer):
    torch.manual_seed(0)
    model = PowerPolicy(layer=layer, in_channels=2, hidden=16, depth=3).eval()
    G = networks()
    mu = torch.rand(3, 6) * 5
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    scales = Scales(4.0, 20.0)
    out = model(make_batch(G, scales, mu)).view(3, 4, 6)
    permuted = model(make_batch(G[..., perm, :][..., perm], scales, mu[:, perm])).view(3, 4, 6)
    assert torch.allclose(permuted, out[..., perm], atol=1e-5)
    assert not torch.allclose(out[..., 0], out[..., 1])  # the outputs do depend on the pair


def test_layers_match_their_formulas_on_a_small_graph():
    torch.manual_seed(0)
    x = torch.randn(1, 3, 2)
    a = torch.rand(1, 3, 3)
    conv = DenseLEConv(2, 4, directions=2)
    t = [p for p in conv.lin(x).split(4, dim=-1)]
    i = 1
    expected = t[0][0, i].clone()
    for j in range(3):
        expected += a[0, j, i] * (t[1][0, i] - t[2][0, j]) + a[0, i, j] * (t[3][0, i] - t[4][0, j])
    assert torch.allclose(conv(x, a)[0, i], expected, atol=1e-5)
    filt = DenseGraphFilter(2, 4, taps=2)
    S = a[0].T  # (S x)_i = sum_j a_ji x_j
    by_hand = filt.lins[0](x[0]) + filt.lins[1](S @ x[0]) + filt.lins[2](S @ S @ x[0])
    assert torch.allclose(filt(x, a)[0], by_hand, atol=1e-5)


def test_a_policy_runs_on_networks_of_another_size():
    torch.manual_seed(0)
    model = PowerPolicy(in_channels=2, hidden=8, depth=2).eval()
    for m in (3, 17):
        out = model(make_batch(networks(B=2, T=1, m=m), Scales(), torch.zeros(2, m)))
        assert out.shape == (2 * m, 1)


@pytest.mark.parametrize("augmented", [True, False])
def test_execution_keeps_powers_in_range_and_duals_nonnegative(augmented):
    torch.manual_seed(0)
    model = PowerPolicy(in_channels=2, hidden=8, depth=2)
    G = networks(B=2, T=12, m=5)
    G[0, 3] = 0.0  # a silent step
    G[1, 5] *= 1e6  # an enormous one
    run = execute([model], G, augmented=augmented, dynamics=DualDynamics(0.75, 2.0, 5), scales=Scales(3.0, 10.0))
    assert run.q.shape == run.rates.shape == run.mu.shape == (2, 12, 5)
    assert ((run.q >= 0) & (run.q <= 1)).all() and np.isfinite(run.rates).all()
    assert (run.mu >= 0).all() and (run.mu[:, :5] == 0).all()  # duals start at 0, first update after 5 steps
    np.testing.assert_allclose(run.rates, rates(G, torch.from_numpy(run.q)).numpy(), rtol=1e-5, atol=1e-6)


def test_execution_in_bf16_runs_a_bf16_copy_and_decides_nearly_the_same_powers():
    torch.manual_seed(0)
    model = PowerPolicy(in_channels=2, hidden=16, depth=3)
    assert model.bf16_inference
    G = networks(B=3, T=10, m=8)
    args = dict(augmented=True, dynamics=DualDynamics(0.75, 2.0, 5), scales=Scales(3.0, 10.0))
    full = execute([model], G, **args)
    half = execute([model], G, **args, precision=torch.bfloat16)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # the run's weights are left as they are
    assert half.q.dtype == half.rates.dtype == np.float32
    assert ((half.q >= 0) & (half.q <= 1)).all()
    assert np.abs(half.q - full.q).max() < 0.05 and not np.array_equal(half.q, full.q)
    np.testing.assert_allclose(half.rates, rates(G, torch.from_numpy(half.q)).numpy(), rtol=1e-5, atol=1e-6)


def test_state_augmented_execution_follows_the_dual_dynamics():
    """Rerun the execution by hand: the policy sees the duals, which follow the projected update."""
    torch.manual_seed(1)
    model = PowerPolicy(in_channels=2, hidden=8, depth=2).eval()
    G = networks(B=1, T=10, m=4)
    dyn, scales = DualDynamics(0.75, 2.0, 5), Scales(3.0, 10.0)
    run = execute([model], G, augmented=True, dynamics=dyn, scales=scales)
    mu = torch.zeros(1, 4)
    with torch.no_grad():
        for t in range(10):
            q = scores_to_powers(model(make_batch(G[:, t : t + 1], scales, mu)).view(1, 4))
            assert torch.allclose(torch.from_numpy(run.q[:, t]), q, atol=1e-6)
            if t == 4:
                mu = (mu - 2.0 * (torch.from_numpy(run.rates[:, :5]).mean(1) - 0.75)).clamp_min(0)
    assert np.allclose(run.mu[0, 5:], mu.numpy())


def test_lagrangian_loss_weights_users_by_their_duals():
    G = networks(B=1, T=1, m=2)
    output = torch.tensor([[0.3], [-0.2]])
    s = torch.sigmoid(output[:, 0])
    r = rates(G[0, 0], s / s.max())  # the louder pair at P_max
    augmented = PowerTask("state-augmented")
    batch = make_batch(G, Scales(), torch.tensor([[3.0, 0.0]]))
    expected = -(4 * r[0] + 1 * r[1]) / 5
    assert float(augmented.loss(output, batch)) == pytest.approx(float(expected), rel=1e-5)
    plain = PowerTask("primal-dual")  # duals start at 0 in an episode: the sum rate per user
    assert float(plain.loss(output, make_batch(G, Scales()))) == pytest.approx(float(-r.mean()), rel=1e-5)


def test_the_task_round_trips_through_its_config():
    task = PowerTask("primal-dual", DualDynamics(0.5, 1.0, 3), dual_max=7.0, monitor="p5")
    again = PowerTask.from_config(task.to_config())
    assert again.to_config() == task.to_config() and not again.augmented and again.higher_is_better
    with pytest.raises(ValueError, match="not a metric"):
        PowerTask(monitor="rmse")


def test_dual_dynamics_update_every_window_on_the_window_mean():
    r = torch.tensor([[[0.0], [0.5], [1.0], [1.0], [3.0], [3.0]]])  # one user, 6 steps
    mu, final = DualDynamics(f_min=1.0, step=1.0, window=2).run(r)
    # windows: mean 0.25 -> mu 0.75; mean 1.0 -> 0.75; mean 3.0 -> 0 (clipped)
    assert mu[0, :, 0].tolist() == pytest.approx([0, 0, 0.75, 0.75, 0.75, 0.75])
    assert final[0].tolist() == pytest.approx([0.0])


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 8), st.floats(1.0, 100.0), st.integers(0, 2**31 - 1))
def test_raising_every_power_by_one_factor_never_lowers_a_rate(m, factor, seed):
    """Why the policy's powers are scaled so that the loudest pair is at P_max."""
    rng = np.random.default_rng(seed)
    G = torch.from_numpy(rng.exponential(30.0, (m, m)))
    q = torch.from_numpy(rng.uniform(0, 1, m)) / factor
    assert (rates(G, q * factor) >= rates(G, q) - 1e-12).all()


def test_scores_become_powers_with_the_loudest_pair_at_full_power():
    q = scores_to_powers(torch.tensor([[-9.0, -12.0, -10.0], [3.0, 0.0, -50.0]]))
    assert q.amax(-1).tolist() == [1.0, 1.0] and ((q >= 0) & (q <= 1)).all()
    assert q[0].argmax() == 0 and q[1, 2] < 1e-20


def test_training_duals_cover_zero_small_and_large():
    from gnncli.domains.wireless.dataset import sample_duals

    mu = sample_duals(np.random.default_rng(0), (2000, 20), dual_max=50.0)
    assert mu.shape == (2000, 20) and (mu >= 0).all() and mu.max() <= 50.0 + 1e-4
    zeros = (mu == 0).mean(1)
    assert zeros.min() < 0.1 and zeros.max() > 0.9 and 0.3 < (mu == 0).mean() < 0.7
    assert (mu > 20).mean() > 0.05 and ((mu > 0) & (mu < 1)).mean() > 0.05
