"""Rates, the dual update and the baselines of the wireless kind of input, checked by hand and
against brute force on small networks."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gnncli.domains.wireless.channels import Network
from gnncli.domains.wireless.rates import dual_update, full_power, random_power, rates, sinr, summarize, wmmse


def brute_force_two_users(G: torch.Tensor, points: int = 401) -> tuple[torch.Tensor, float]:
    """The best sum rate of a 2-pair network over a grid of powers (and the powers)."""
    grid = torch.linspace(0, 1, points, dtype=torch.float64)
    q = torch.stack(torch.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    total = rates(G.expand(len(q), 2, 2), q).sum(-1)
    best = int(total.argmax())
    return q[best], float(total[best])


def test_rates_of_a_two_pair_network_by_hand():
    # rows transmitters, columns receivers: G[0, 1] is transmitter 0 heard at receiver 1
    G = torch.tensor([[10.0, 2.0], [3.0, 5.0]], dtype=torch.float64)
    q = torch.tensor([1.0, 0.5], dtype=torch.float64)
    # receiver 0: signal 1 * 10, interference 0.5 * 3 -> log2(1 + 10 / 2.5) = log2(5)
    # receiver 1: signal 0.5 * 5, interference 1 * 2 -> log2(1 + 2.5 / 3)
    expected = [math.log2(5.0), math.log2(1 + 2.5 / 3)]
    assert rates(G, q).tolist() == pytest.approx(expected, rel=1e-12)
    assert sinr(G, q).tolist() == pytest.approx([4.0, 2.5 / 3], rel=1e-12)


def test_rates_from_gains_in_watts_match_the_formula_with_noise_and_p_max():
    gains = np.array([[[2e-10, 1e-12], [5e-12, 1e-10]]])  # |h_ji|^2
    net = Network("x", gains.astype(np.float32), p_max_dbm=10.0, noise_dbm=-104.0)
    p_max, noise = 0.01, 10 ** ((-104 - 30) / 10)
    p = np.array([p_max, 0.3 * p_max])
    by_hand = [math.log2(1 + p[0] * 2e-10 / (noise + p[1] * 5e-12)), math.log2(1 + p[1] * 1e-10 / (noise + p[0] * 1e-12))]
    got = rates(torch.from_numpy(net.snr_gains()[0]).double(), torch.tensor(p / p_max))
    assert got.tolist() == pytest.approx(by_hand, rel=1e-5)


def test_rates_batch_over_networks_and_time():
    G = torch.rand(3, 4, 5, 5, dtype=torch.float64) * 10
    q = torch.rand(3, 4, 5, dtype=torch.float64)
    batched = rates(G, q)
    assert batched.shape == (3, 4, 5)
    assert torch.allclose(batched[2, 1], rates(G[2, 1], q[2, 1]))


def test_dual_update_clips_at_zero():
    mu = torch.tensor([0.5, 0.1, 2.0, 0.0])
    mean_rates = torch.tensor([0.5, 2.0, 0.75, 5.0])
    out = dual_update(mu, mean_rates, f_min=0.75, step=2.0)
    # short by 0.25: raised by 0.5; above by 1.25: would be 0.1 - 2.5, clipped; exactly at f_min: unchanged
    assert out.tolist() == pytest.approx([1.0, 0.0, 2.0, 0.0])
    assert (out >= 0).all()


def test_wmmse_keeps_full_power_where_it_is_optimal():
    # symmetric, weak interference: full power is the optimum (brute force agrees)
    G = torch.tensor([[100.0, 0.1], [0.1, 100.0]], dtype=torch.float64)
    _, best = brute_force_two_users(G)
    result = wmmse(G, tol=1e-10)
    full = float(rates(G, full_power(G)).sum())
    assert float(rates(G, result.q).sum()) >= full - 1e-12
    assert float(rates(G, result.q).sum()) == pytest.approx(best, abs=1e-9)
    assert result.q.tolist() == pytest.approx([1.0, 1.0])


def test_wmmse_never_below_full_power_on_symmetric_two_user_networks():
    # from full power, WMMSE's sum rate never decreases, however strong the interference
    for direct in (0.5, 5.0, 50.0):
        for cross in (0.0, 0.1, 1.0, 10.0, 100.0):
            G = torch.tensor([[direct, cross], [cross, direct]], dtype=torch.float64)
            full = float(rates(G, full_power(G)).sum())
            assert float(rates(G, wmmse(G).q).sum()) >= full - 1e-12, (direct, cross)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 6), st.integers(0, 2**31 - 1))
def test_wmmse_never_below_full_power_on_random_networks(m, seed):
    G = torch.from_numpy(np.random.default_rng(seed).exponential(10.0, (m, m)))
    full = float(rates(G, full_power(G)).sum())
    assert float(rates(G, wmmse(G).q).sum()) >= full - 1e-9


def test_wmmse_reaches_the_known_optimum_with_strong_interference():
    # user 0 strong, user 1 weak, strong cross links: the optimum switches user 1 off
    G = torch.tensor([[100.0, 50.0], [50.0, 10.0]], dtype=torch.float64)
    q_best, best = brute_force_two_users(G)
    assert q_best.tolist() == [1.0, 0.0] and best == pytest.approx(math.log2(101))
    result = wmmse(G, tol=1e-10)
    assert float(rates(G, result.q).sum()) == pytest.approx(best, abs=1e-6)
    assert bool(result.converged)


def test_wmmse_is_vectorized_and_honours_its_iteration_cap():
    G = torch.from_numpy(np.random.default_rng(0).exponential(20.0, (4, 3, 6, 6)))
    batched = wmmse(G, tol=1e-8)
    alone = wmmse(G[3, 2], tol=1e-8)
    assert batched.q.shape == (4, 3, 6) and batched.iterations.shape == (4, 3)
    assert torch.allclose(batched.q[3, 2], alone.q, atol=1e-6)
    assert ((batched.q >= 0) & (batched.q <= 1)).all()
    capped = wmmse(G, tol=0.0, max_iter=3)  # a zero tolerance is never met before the cap
    assert (capped.iterations == 3).all() and not capped.converged.any()


def test_random_power_is_seeded_and_in_range():
    G = torch.ones(2, 7, 4, 4, dtype=torch.float64)
    a = random_power(G, torch.Generator().manual_seed(1))
    b = random_power(G, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == (2, 7, 4) and ((a >= 0) & (a <= 1)).all()


def test_summary_statistics():
    stats = summarize([np.array([1.0, 0.5]), np.array([2.0, 0.75, 0.0])], f_min=0.75)
    assert stats["sum_rate"] == pytest.approx((1.5 + 2.75) / 2)
    assert stats["satisfied"] == pytest.approx(3 / 5)
    assert stats["p5"] == pytest.approx(np.percentile([1, 0.5, 2, 0.75, 0], 5))
    assert stats["min_rate"] == 0.0 and stats["users"] == 5 and stats["networks"] == 2
