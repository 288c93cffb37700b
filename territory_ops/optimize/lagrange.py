"""Lagrangian dual of the assignment LP: prices per rep, a certified lower bound, a core.

The LP relaxation is ``min sum c_fr x_fr`` subject to ``sum_r x_fr = 1`` per family and the
per-rep coupling rows (band ``L_r <= sum p_f x_fr <= U_r``, capacity, max accounts).
Dualising the coupling rows with prices ``lambda`` leaves one independent choice per family:

    g(lambda) = sum_f min_r (c_fr + price_r(f)) - sum_r (lambda+ U_r - lambda- L_r + ...)

For *any* non-negative prices ``g`` is a lower bound on the LP relaxation, hence on every
plan; its maximum equals the LP optimum (the per-family problem has the integrality
property). We maximise an entropy-smoothed ``g`` with L-BFGS-B over ~3 prices per rep (a
few hundred variables instead of millions), then evaluate the exact, non-smooth ``g``:
that value is the certificate. Evaluated over *all* eligible reps (not only the pruned
candidates), the bound holds for the unpruned problem.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from territory_ops.optimize.candidates import add_candidates, family_chunks, family_rep_matrix
from territory_ops.optimize.instance import Instance

PRICING_ROUNDS = 2  # column-generation rounds (each: price out, add columns, re-solve)
PRICE_BOUND = 1e3  # normalised; keeps the dual bounded when the band is infeasible


class _OutOfTime(Exception):
    """The certificate's time is up: stop the ascent, keep the best iterate."""


@dataclass
class Prices:
    band_up: np.ndarray  # lambda+ (>= 0), normalised units
    band_down: np.ndarray  # lambda- (>= 0)
    capacity: np.ndarray  # nu (>= 0)
    accounts: np.ndarray  # kappa (>= 0)
    cost_scale: float
    pot_scale: float
    work_scale: float
    count_scale: float

    def adjust(self, inst: Instance, reps: np.ndarray, fams: np.ndarray) -> np.ndarray:
        """Price of assigning ``fams`` (1-D) to ``reps`` (2-D, one row per family)."""
        lam = self.band_up - self.band_down
        r = np.maximum(reps, 0)
        return (
            lam[r] * (inst.fam_potential[fams] / self.pot_scale)[:, None]
            + self.capacity[r] * (inst.fam_workload[fams] / self.work_scale)[:, None]
            + self.accounts[r] * (inst.fam_count[fams] / self.count_scale)[:, None]
        )


@dataclass
class DualResult:
    prices: Prices
    value: float  # exact g over the candidates, original cost units
    assignment: np.ndarray  # argmin candidate column per family
    regret: np.ndarray  # second-best minus best adjusted cost (normalised)


def _constant(inst: Instance, p: Prices, lower: np.ndarray, upper: np.ndarray) -> float:
    fin = np.isfinite(inst.max_accounts)
    return float(
        -(p.band_up * upper).sum() / p.pot_scale
        + (p.band_down * lower).sum() / p.pot_scale
        - (p.capacity * inst.capacity).sum() / p.work_scale
        - (p.accounts[fin] * inst.max_accounts[fin]).sum() / p.count_scale
    )


@dataclass(frozen=True)
class Ascent:
    """How far one dual ascent goes: L-BFGS-B iterations per smoothing stage, the stages
    (smoothing temperatures), whether to keep the best exact iterate, and a
    ``time.perf_counter()`` deadline (only with ``keep_best``)."""

    max_iter: int = 100
    stages: tuple[float, ...] = (0.1, 0.01)
    keep_best: bool = False
    deadline: float | None = None


def solve_dual(
    inst: Instance,
    cost: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    warm: Prices | None = None,
    ascent: Ascent = Ascent(),
) -> DualResult:
    """Maximise the smoothed dual over the candidate matrix ``cost`` (F x K, inf = none).

    With ``keep_best`` the prices returned are those of the iterate with the best *exact*
    dual value seen (every iterate is a valid bound; at small smoothing L-BFGS-B zigzags, so
    the last iterate is often not the best) — what the certificate wants. ``deadline``
    (``time.perf_counter()`` value, only with ``keep_best``) stops the ascent early; the best
    iterate so far is still a valid bound.
    """
    max_iter, stages, keep_best, deadline = (
        ascent.max_iter,
        ascent.stages,
        ascent.keep_best,
        ascent.deadline,
    )
    F, R = inst.n_families, inst.n_reps
    rep = inst.cand_rep
    valid = rep >= 0
    n_act = max(int(inst.active.sum()), 1)
    best = np.where(valid, cost, np.inf).min(axis=1)
    cost_scale = max(float(np.abs(best).sum()) / n_act, 1e-9)
    pot_scale = max(float(inst.target[inst.active].mean()), 1e-9)
    work_scale = max(float(inst.capacity[inst.active].mean()), 1e-9)
    count_scale = max(inst.fam_count.sum() / n_act, 1.0)
    c = np.where(valid, cost / cost_scale, 0.0)
    pn = inst.fam_potential / pot_scale
    wn = inst.fam_workload / work_scale
    nn = inst.fam_count / count_scale
    r_safe = np.maximum(rep, 0)
    flat_r = r_safe.ravel()
    fin = np.isfinite(inst.max_accounts)
    act = inst.active

    def unpack(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return z[:R], z[R : 2 * R], z[2 * R : 3 * R], z[3 * R :]

    K = rep.shape[1]
    pn_flat = np.repeat(pn, K)
    wn_flat = np.repeat(wn, K)
    nn_flat = np.repeat(nn, K)
    c_flat = c.ravel()
    invalid_flat = ~valid.ravel()
    use_cnt = bool(fin.any())

    def adjusted(z: np.ndarray) -> np.ndarray:
        up, dn, nu, ka = unpack(z)
        lam = up - dn
        a = c_flat + np.take(lam, flat_r) * pn_flat
        if nu.any():
            a += np.take(nu, flat_r) * wn_flat
        if use_cnt and ka.any():
            a += np.take(ka, flat_r) * nn_flat
        a[invalid_flat] = np.inf
        return a.reshape(F, K)

    def constant(z: np.ndarray) -> tuple[float, np.ndarray]:
        up, dn, nu, ka = unpack(z)
        kcap = np.where(fin, inst.max_accounts, 0.0) / count_scale
        val = (
            -(up * upper).sum() / pot_scale
            + (dn * lower).sum() / pot_scale
            - (nu * inst.capacity).sum() / work_scale
            - (ka * kcap).sum()
        )
        grad = np.concatenate(
            [-upper / pot_scale, lower / pot_scale, -inst.capacity / work_scale, -kcap]
        )
        return float(val), grad

    per_family = n_act / max(F, 1)

    best_seen: list = [-np.inf, None]  # exact dual value and prices of the best iterate

    def neg_smoothed(z: np.ndarray, tau: float) -> tuple[float, np.ndarray]:
        if deadline is not None and keep_best and time.perf_counter() > deadline:
            raise _OutOfTime
        a = adjusted(z)
        m = a.min(axis=1, keepdims=True)
        e = np.exp((m - a) / tau)
        s = e.sum(axis=1, keepdims=True)
        val = float((m[:, 0] - tau * np.log(s[:, 0])).sum())
        cval, cgrad = constant(z)
        if keep_best:  # the exact dual at this iterate: the row minima, unsmoothed
            exact = float(m.sum()) + cval
            if exact > best_seen[0]:
                best_seen[:] = [exact, z.copy()]
        e /= s
        pi = e.ravel()
        g_pot = np.bincount(flat_r, weights=pi * pn_flat, minlength=R)
        g_w = np.bincount(flat_r, weights=pi * wn_flat, minlength=R)
        g_n = np.bincount(flat_r, weights=pi * nn_flat, minlength=R) if use_cnt else np.zeros(R)
        grad = np.concatenate([g_pot, -g_pot, g_w, g_n]) + cgrad
        return -(val + cval), -grad

    bounds = []
    for block in range(4):
        for r in range(R):
            live = act[r] and (block < 3 or fin[r])
            bounds.append((0.0, PRICE_BOUND if live else 0.0))
    if warm is not None:
        z = np.concatenate([warm.band_up, warm.band_down, warm.capacity, warm.accounts])
        z = z * (warm.cost_scale / cost_scale)
    else:
        z = np.zeros(4 * R)
    for frac in stages:
        tau = frac * per_family
        try:
            res = minimize(
                neg_smoothed,
                z,
                args=(tau,),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": max_iter, "maxcor": 20},
            )
        except _OutOfTime:
            break
        z = res.x
    if keep_best and best_seen[1] is not None:  # L-BFGS-B's last iterate was evaluated too
        z = best_seen[1]
    up, dn, nu, ka = unpack(z)
    prices = Prices(up, dn, nu, ka, cost_scale, pot_scale, work_scale, count_scale)
    a = adjusted(z)
    order = np.argsort(a, axis=1, kind="stable")
    first = order[:, 0]
    fa = np.take_along_axis(a, order[:, :2], axis=1) if a.shape[1] > 1 else None
    regret = (fa[:, 1] - fa[:, 0]) if fa is not None else np.full(F, np.inf)
    regret = np.where(np.isfinite(regret), regret, np.inf)
    value = (float(a[np.arange(F), first].sum()) + constant(z)[0]) * cost_scale
    return DualResult(prices=prices, value=value, assignment=first, regret=regret)


def solve_dual_with_pricing(
    inst: Instance,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    rounds: int = PRICING_ROUNDS,
    say: Callable[[str], None] | None = None,
) -> DualResult:
    """:func:`solve_dual` over the candidates, with column generation from every eligible rep.

    Adds the pairs :func:`price_out` finds to the instance's candidates and re-solves
    (warm), until no pair prices out or after ``rounds`` rounds.
    """
    dual = None
    warm = None
    for rnd in range(rounds + 1):
        cost = np.where(inst.cand_rep >= 0, inst.cand_cost, np.inf)
        dual = solve_dual(inst, cost, lower, upper, warm=warm)
        if rnd == rounds:
            break
        fams, reps = price_out(inst, dual.prices)
        added = add_candidates(inst, fams, reps)
        if say is not None:
            say(f"pricing round {rnd + 1}: {added} candidate pairs added")
        if not added:
            break
        warm = dual.prices
    assert dual is not None
    return dual


def price_out(
    inst: Instance, prices: Prices, *, per_family: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Eligible (family, rep) pairs outside the candidates that the prices say are better.

    The pricing step of column generation: a pair is returned when its price-adjusted cost
    is below the family's best candidate's, at most ``per_family`` per family (cheapest
    first). Its cost is estimated as travel plus the disruption of moving every member
    (current owners are candidates already, so a new rep moves them all).
    """
    F, R = inst.n_families, inst.n_reps
    valid = inst.cand_rep >= 0
    cand_adj = np.where(
        valid,
        inst.cand_cost / prices.cost_scale + prices.adjust(inst, inst.cand_rep, np.arange(F)),
        np.inf,
    )
    best = cand_adj.min(axis=1)
    ca = inst.current_active
    moved_pot = np.bincount(inst.family_of, weights=inst.potential * ca, minlength=F)
    wt = inst.weights
    out_f: list[np.ndarray] = []
    out_r: list[np.ndarray] = []
    for f0, f1 in family_chunks(inst):
        fams = np.arange(f0, f1)
        travel, _ = family_rep_matrix(inst, f0, f1)
        moved = wt.disruption_km * inst.potential_to_cost * moved_pot[fams]
        est = wt.travel * travel + moved[:, None]
        reps = np.tile(np.arange(R), (f1 - f0, 1))
        a = est / prices.cost_scale + prices.adjust(inst, reps, fams)
        el = inst.class_mask[inst.fam_class[fams]].copy()
        el[inst.fam_lock_rep[fams] >= 0] = False
        cr = inst.cand_rep[fams]
        rows = np.nonzero(cr >= 0)
        el[rows[0], cr[rows]] = False
        a = np.where(el & (a < best[fams, None] - 1e-9), a, np.inf)
        k = min(per_family, R)
        top = np.argpartition(a, k - 1, axis=1)[:, :k] if k < R else reps
        keep = np.isfinite(np.take_along_axis(a, top, axis=1))
        rr, cc = np.nonzero(keep)
        out_f.append(fams[rr])
        out_r.append(top[rr, cc])
    return np.concatenate(out_f), np.concatenate(out_r)


def bound_over_all_eligible(
    inst: Instance, prices: Prices, lower: np.ndarray, upper: np.ndarray
) -> float:
    """Exact dual value for pure travel over *every* eligible rep (a valid lower bound)."""
    total = 0.0
    for f0, f1 in family_chunks(inst):
        cost, _ = family_rep_matrix(inst, f0, f1)
        fams = np.arange(f0, f1)
        reps = np.tile(np.arange(inst.n_reps), (f1 - f0, 1))
        a = cost / prices.cost_scale + prices.adjust(inst, reps, fams)
        el = inst.class_mask[inst.fam_class[f0:f1]].copy()
        lk = inst.fam_lock_rep[f0:f1]
        rows = np.nonzero(lk >= 0)[0]
        el[rows] = False
        el[rows, lk[rows]] = True
        a = np.where(el, a, np.inf)
        total += float(a.min(axis=1).sum())
    return (total + _constant(inst, prices, lower, upper)) * prices.cost_scale
