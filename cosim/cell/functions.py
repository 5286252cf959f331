"""Material functions of the cell model: open-circuit potentials, entropic coefficients,
electrolyte conductivity and diffusivity.

Every function is a frozen dataclass with ``__call__`` (picklable, so a batch of cells can
be sent to worker processes) and is vectorized over numpy arrays of any shape:

* stoichiometry functions ``f(sto) -> value`` (open-circuit potential U [V vs Li/Li+] at
  the reference temperature, entropic coefficient dU/dT [V/K]);
* electrolyte functions ``f(c_e, T=None) -> value`` with ``c_e`` in mol/m^3 and ``T`` in K
  (conductivity [S/m], diffusivity [m^2/s]); the functions of this module that do not
  depend on temperature accept and ignore ``T``, and :class:`ElectrolyteArrhenius` adds an
  Arrhenius factor to any of them.

Each class has ``kind``: ``"sto"`` (stoichiometry function), ``"electrolyte"`` or ``"any"``
(usable as either, e.g. :class:`Constant` and :class:`Table`).

:data:`FUNCTIONS` maps the names that parameter files (:mod:`cosim.cell.parameter_set`) may
use to either a ready function (an instance: ``ocp_V = "chen2020_graphite_ocp"``) or a
factory (a class, called with keyword arguments from a table:
``{ function = "tanh_staircase", plateaus_V = [...], ... }``).

The closed forms are published fits, re-implemented here from the formulas in the cited
papers; the test suite checks them against independent samples where these exist.

Compiled form (one implementation): every formula is written once, in C
(``ck_value_slope`` of ``fmus/pack/src/cell_functions.c``, returning the value and its
derivative, dispatched on an integer code with a flat float64 parameter vector; built and
loaded by :mod:`cosim.pack.c_kernel`). A function's :attr:`spec` is that ``(code, params)``
pair: the C cell kernels evaluate it per cell inside their loops, and ``__call__`` runs the
same C over a numpy array (``ck_values``; :func:`value_slope` and :func:`values_slopes` give
the derivative too). The docstrings of the classes below state each formula and its source.
An electrolyte function's spec also carries its Arrhenius activation energy and reference
temperature (zero activation for none).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import ctypes
import functools

import numpy as np

from .params import arrhenius

__all__ = [
    "FUNCTIONS",
    "Constant",
    "ElectrolyteArrhenius",
    "PolynomialInC",
    "Table",
    "TanhStaircase",
    "chen2020_graphite_ocp",
    "chen2020_nmc811_ocp",
    "doyle1996_coke_ocp",
    "doyle1996_kappa_ec_dmc_1_2",
    "doyle1996_kappa_ec_dmc_2_1",
    "doyle1996_spinel_ocp",
    "function_kind",
    "kim2011_nca_ocp",
    "marquis2019_lico2_ocp",
    "nyman2008_conductivity",
    "nyman2008_diffusivity",
]


def _array(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _frozen_array(values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    arr = np.array(values, dtype=np.float64, copy=True)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a 1-D sequence of numbers, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must hold finite numbers only")
    arr.setflags(write=False)
    return arr


def check_increasing(x: np.ndarray, name: str) -> None:
    """ValueError naming the first pair of ``x`` that does not strictly increase."""
    bad = np.flatnonzero(np.diff(x) <= 0)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name} must be strictly increasing, but {name}[{i + 1}] = {x[i + 1]:g} follows "
                         f"{name}[{i}] = {x[i]:g}")


# --------------------------------------------------------------------------------------
# the compiled formulas (in C): value and derivative
# --------------------------------------------------------------------------------------

# the codes of fmus/pack/src/cell_kernel.h (CK_CONSTANT ...)
CONSTANT, TABLE, POLYNOMIAL, TANH_STAIRCASE = 0, 1, 2, 3
CHEN2020_GRAPHITE, CHEN2020_NMC811, NYMAN2008_KAPPA, NYMAN2008_D = 4, 5, 6, 7
DOYLE1996_COKE, DOYLE1996_SPINEL, MARQUIS2019_LICO2, KIM2011_NCA = 8, 9, 10, 11

#: the spinel fit's power term is singular at this stoichiometry (as in the C)
SPINEL_SINGULAR_STO = 0.998432
#: Dualfoil caps the spinel OCP at this value [V] (as in the C)
SPINEL_OCP_CAP_V = 6.0


@functools.cache
def _lib():
    """The C library (built on first use; imported late: cosim.pack imports this module)."""
    from ..pack.c_kernel import library

    return library()


_F8 = ctypes.POINTER(ctypes.c_double)


def _ptr(a: np.ndarray):
    return a.ctypes.data_as(_F8)


def value_slope(code: int, p, x: float) -> tuple[float, float]:
    """Value and derivative of the function ``(code, p)`` at ``x`` (a stoichiometry, or a
    salt concentration in mol/m^3); NaN in, NaN out (the C's ``ck_value_slope``)."""
    p = np.ascontiguousarray(p, dtype=np.float64)
    v, d = ctypes.c_double(), ctypes.c_double()
    _lib().ck_value_slope(int(code), _ptr(p), float(x), ctypes.byref(v), ctypes.byref(d))
    return v.value, d.value


def values_slopes(spec, x) -> tuple[np.ndarray, np.ndarray]:
    """Values and derivatives of the function ``spec = (code, params)`` over an array of any
    shape (the C's ``ck_values``)."""
    return _values(spec, x, True)


def _values(spec, x, slopes: bool):
    x = _array(x)
    flat = np.ascontiguousarray(x).reshape(-1)
    p = np.ascontiguousarray(spec[1], dtype=np.float64)
    out = np.empty((2 if slopes else 1, flat.size))
    # addresses as plain integers: no ctypes pointer objects (a few µs a call; the initial
    # state's bisections make about a thousand calls)
    at = out.ctypes.data
    _lib().ck_values(int(spec[0]), p.ctypes.data, flat.ctypes.data, flat.size, at, at + 8 * flat.size
                     if slopes else None)
    return (out[0].reshape(x.shape), out[1].reshape(x.shape)) if slopes else out[0].reshape(x.shape)


def _apply(spec, x) -> np.ndarray:
    """The function ``spec`` over an array of any shape."""
    return _values(spec, x, False)


def _apply_at_any_T(spec, x, T) -> np.ndarray:
    """``spec`` over ``x`` for a function without temperature dependence: a given ``T``
    only broadcasts the result to its shape."""
    out = _apply(spec, x)
    return out if T is None else np.broadcast_arrays(out, _array(T))[0].copy()


# --------------------------------------------------------------------------------------
# generic building blocks
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Constant:
    """A constant, as a stoichiometry function ``f(sto)`` or an electrolyte function
    ``f(c_e, T)``: returns ``value`` broadcast to the shape of the arguments."""

    value: float
    kind: ClassVar[str] = "any"

    def __post_init__(self):
        value = float(self.value)
        if not np.isfinite(value):
            raise ValueError(f"value must be finite, got {self.value!r}")
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "spec", (CONSTANT, np.array([value])))

    def __call__(self, x, T=None) -> np.ndarray:
        x = _array(x)
        if T is not None:
            x = np.broadcast_arrays(x, _array(T))[0]
        return np.full_like(x, self.value)


@dataclass(frozen=True, eq=False)
class Table:
    """Piecewise-linear interpolation of tabulated ``y(x)`` (``np.interp``); outside the
    grid the end values are held. ``x`` must be strictly increasing, ``x`` and ``y`` finite
    and of equal length (at least 2 points).

    Used for literature OCP / entropic curves that have no closed form (as a stoichiometry
    function) and for tabulated electrolyte properties versus concentration in mol/m^3
    (as an electrolyte function; ``T`` is ignored: wrap in :class:`ElectrolyteArrhenius`)."""

    x: np.ndarray
    y: np.ndarray
    kind: ClassVar[str] = "any"

    def __post_init__(self):
        x = _frozen_array(self.x, "x")
        y = _frozen_array(self.y, "y")
        if x.size < 2:
            raise ValueError(f"a table needs at least 2 points, got {x.size}")
        if y.size != x.size:
            raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
        check_increasing(x, "x")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "spec", (TABLE, np.concatenate([[float(x.size)], x, y])))

    def __call__(self, x, T=None) -> np.ndarray:
        return _apply_at_any_T(self.spec, x, T)

    def __reduce__(self):
        return (Table, (self.x.tolist(), self.y.tolist()))


@dataclass(frozen=True, eq=False)
class PolynomialInC:
    """``value_scale * sum_k coefficients[k] * (c_e / c_scale_mol_m3)**k`` (ascending
    powers), an electrolyte function of concentration only (``T`` is ignored).

    The usual literature form: coefficients for c in mol/L (``c_scale_mol_m3 = 1000``),
    result in S/cm converted with ``value_scale = 100`` to S/m."""

    coefficients: tuple[float, ...]
    c_scale_mol_m3: float = 1000.0
    value_scale: float = 1.0
    kind: ClassVar[str] = "electrolyte"

    def __post_init__(self):
        coeffs = _frozen_array(self.coefficients, "coefficients")
        if coeffs.size == 0:
            raise ValueError("coefficients must not be empty")
        if not (np.isfinite(self.c_scale_mol_m3) and self.c_scale_mol_m3 > 0):
            raise ValueError(f"c_scale_mol_m3 must be positive, got {self.c_scale_mol_m3!r}")
        if not np.isfinite(self.value_scale):
            raise ValueError(f"value_scale must be finite, got {self.value_scale!r}")
        object.__setattr__(self, "coefficients", tuple(float(c) for c in coeffs))
        object.__setattr__(self, "c_scale_mol_m3", float(self.c_scale_mol_m3))
        object.__setattr__(self, "value_scale", float(self.value_scale))
        head = [float(len(self.coefficients)), self.c_scale_mol_m3, self.value_scale]
        object.__setattr__(self, "spec", (POLYNOMIAL, np.array(head + list(self.coefficients))))

    def __call__(self, c_e, T=None) -> np.ndarray:
        return _apply_at_any_T(self.spec, c_e, T)


@dataclass(frozen=True, eq=False)
class ElectrolyteArrhenius:
    """``base(c_e) * exp(E / R * (1 / T_ref - 1 / T))``: an Arrhenius temperature factor on
    a function of concentration (``base`` is evaluated at ``c_e`` only and taken as the
    value at ``T_ref_K``). With ``activation_energy_J_mol = 0`` it equals ``base``.

    The Arrhenius form is the one stated in :mod:`cosim.cell.params`; for gel and polymer
    electrolytes it stands in for VTF behaviour over a limited temperature range."""

    base: Callable[..., np.ndarray]
    activation_energy_J_mol: float
    T_ref_K: float = 298.15
    kind: ClassVar[str] = "electrolyte"

    def __post_init__(self):
        if not callable(self.base):
            raise ValueError("base must be callable")
        if not (np.isfinite(self.activation_energy_J_mol) and self.activation_energy_J_mol >= 0):
            raise ValueError(
                f"activation_energy_J_mol must be finite and >= 0, got {self.activation_energy_J_mol!r}"
            )
        if not (np.isfinite(self.T_ref_K) and self.T_ref_K > 0):
            raise ValueError(f"T_ref_K must be positive, got {self.T_ref_K!r}")

    def __call__(self, c_e, T=None) -> np.ndarray:
        value = self.base(c_e)
        if T is None:
            return value
        return value * arrhenius(self.activation_energy_J_mol, T, self.T_ref_K)


@dataclass(frozen=True, eq=False)
class TanhStaircase:
    """A staircase of two-phase plateaus smoothed with tanh steps (stoichiometry function).

    ``U(sto) = plateaus_V[-1] + sum_i (plateaus_V[i] - plateaus_V[i+1]) * (1 - tanh((sto -
    steps_sto[i]) / width_sto)) / 2``: the potential sits at ``plateaus_V[0]`` below
    ``steps_sto[0]``, at ``plateaus_V[i]`` between ``steps_sto[i-1]`` and ``steps_sto[i]``,
    and at ``plateaus_V[-1]`` above ``steps_sto[-1]``. This is the usual way to model the
    OCP of a material with several two-phase regions (e.g. the Li-Sn alloys, Huggins,
    Handbook of Battery Materials); the numbers belong in the parameter file."""

    plateaus_V: tuple[float, ...]
    steps_sto: tuple[float, ...]
    width_sto: float = 0.01
    kind: ClassVar[str] = "sto"

    def __post_init__(self):
        plateaus = _frozen_array(self.plateaus_V, "plateaus_V")
        steps = _frozen_array(self.steps_sto, "steps_sto")
        if plateaus.size < 2:
            raise ValueError(f"plateaus_V needs at least 2 values, got {plateaus.size}")
        if steps.size != plateaus.size - 1:
            raise ValueError(
                f"steps_sto needs one value fewer than plateaus_V ({plateaus.size - 1}), "
                f"got {steps.size}"
            )
        if np.any(np.diff(steps) <= 0):
            raise ValueError("steps_sto must be strictly increasing")
        if not (np.isfinite(self.width_sto) and self.width_sto > 0):
            raise ValueError(f"width_sto must be positive, got {self.width_sto!r}")
        object.__setattr__(self, "plateaus_V", tuple(plateaus.tolist()))
        object.__setattr__(self, "steps_sto", tuple(steps.tolist()))
        object.__setattr__(self, "width_sto", float(self.width_sto))
        p = np.asarray(self.plateaus_V)
        drops = p[:-1] - p[1:]  # one tanh per step
        head = [float(drops.size), 1.0 / self.width_sto, p[-1] + 0.5 * drops.sum()]
        object.__setattr__(self, "spec", (TANH_STAIRCASE, np.array(head + list(self.steps_sto) + list(drops))))

    def __call__(self, sto) -> np.ndarray:
        return _apply(self.spec, sto)


# --------------------------------------------------------------------------------------
# published closed forms
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chen2020GraphiteOcp:
    """Graphite (LG M50 negative, LixC6) open-circuit potential [V vs Li/Li+]:

    ``U = 1.9793 exp(-39.3631 x) + 0.2482 - 0.0909 tanh(29.8538 (x - 0.1234))
    - 0.04478 tanh(14.9159 (x - 0.2769)) - 0.0205 tanh(30.4444 (x - 0.6103))``

    C.-H. Chen, F. Brosa Planella, K. O'Regan, D. Gastol, W. D. Widanage, E. Kendrick,
    J. Electrochem. Soc. 167 (2020) 080534, doi:10.1149/1945-7111/ab9050."""

    kind: ClassVar[str] = "sto"

    spec: ClassVar[tuple] = (CHEN2020_GRAPHITE, np.zeros(1))

    def __call__(self, sto) -> np.ndarray:
        return _apply(self.spec, sto)


@dataclass(frozen=True)
class Chen2020Nmc811Ocp:
    """NMC 811 (LG M50 positive) open-circuit potential [V vs Li/Li+]:

    ``U = -0.8090 y + 4.4875 - 0.0428 tanh(18.5138 (y - 0.5542))
    - 17.7326 tanh(15.7890 (y - 0.3117)) + 17.5842 tanh(15.9308 (y - 0.3120))``

    Chen et al., J. Electrochem. Soc. 167 (2020) 080534."""

    kind: ClassVar[str] = "sto"

    spec: ClassVar[tuple] = (CHEN2020_NMC811, np.zeros(1))

    def __call__(self, sto) -> np.ndarray:
        return _apply(self.spec, sto)


@dataclass(frozen=True)
class Nyman2008Conductivity:
    """Conductivity [S/m] of LiPF6 in EC:EMC (3:7 by weight), c in mol/L inside the fit:

    ``kappa = 0.1297 c^3 - 2.51 c^1.5 + 3.329 c``, c = c_e / (1000 mol/m^3)

    A. Nyman, M. Behm, G. Lindbergh, Electrochim. Acta 53 (2008) 6356,
    doi:10.1016/j.electacta.2008.04.023; as used by Chen et al. 2020 (no temperature
    dependence)."""

    kind: ClassVar[str] = "electrolyte"

    spec: ClassVar[tuple] = (NYMAN2008_KAPPA, np.zeros(1))

    def __call__(self, c_e, T=None) -> np.ndarray:
        return _apply_at_any_T(self.spec, c_e, T)


@dataclass(frozen=True)
class Nyman2008Diffusivity:
    """Salt diffusivity [m^2/s] of LiPF6 in EC:EMC (3:7), c in mol/L inside the fit:

    ``D = 8.794e-11 c^2 - 3.972e-10 c + 4.862e-10``, c = c_e / (1000 mol/m^3)

    Nyman, Behm, Lindbergh, Electrochim. Acta 53 (2008) 6356; as used by Chen et al. 2020
    (no temperature dependence)."""

    kind: ClassVar[str] = "electrolyte"

    spec: ClassVar[tuple] = (NYMAN2008_D, np.zeros(1))

    def __call__(self, c_e, T=None) -> np.ndarray:
        return _apply_at_any_T(self.spec, c_e, T)


@dataclass(frozen=True)
class Doyle1996CokeOcp:
    """Petroleum-coke (LixC6-type, disordered carbon) open-circuit potential [V vs Li/Li+]:

    ``U = -0.16 + 1.32 exp(-3.0 x) + 10.0 exp(-2000.0 x)``

    M. Doyle, J. Newman, A. S. Gozdz, C. N. Schmutz, J.-M. Tarascon, J. Electrochem. Soc.
    143 (1996) 1890, doi:10.1149/1.1836921; the fit as carried by mpet (LiC6_coke_ss) and
    Dualfoil 5.2 (see shared/reference/doyle1996.toml)."""

    kind: ClassVar[str] = "sto"

    spec: ClassVar[tuple] = (DOYLE1996_COKE, np.zeros(1))

    def __call__(self, sto) -> np.ndarray:
        return _apply(self.spec, sto)


@dataclass(frozen=True)
class Doyle1996SpinelOcp:
    """LiyMn2O4 spinel (Bellcore) open-circuit potential [V vs Li/Li+], fit for
    0.17 <= y < 0.998432:

    ``U = 4.19829 + 0.0565661 tanh(-14.5546 y + 8.60942)
    - 0.0275479 ((0.998432 - y)^-0.492465 - 1.90111)
    - 0.157123 exp(-0.04738 y^8) + 0.810239 exp(-40 (y - 0.133875))``

    The power term is singular at y = 0.998432: as in Dualfoil 5.2 it is dropped for
    y >= 0.998432, and U is capped at 6 V (the last term grows fast for y < 0.13).

    Doyle et al., J. Electrochem. Soc. 143 (1996) 1890; the fit as carried by mpet
    (LiMn2O4_ss) and dualfoil5.2.f (case 209)."""

    kind: ClassVar[str] = "sto"

    spec: ClassVar[tuple] = (DOYLE1996_SPINEL, np.zeros(1))

    def __call__(self, sto) -> np.ndarray:
        return _apply(self.spec, sto)


@dataclass(frozen=True)
class Marquis2019LiCoO2Ocp:
    """LiCoO2 open-circuit potential [V vs Li/Li+] (Dualfoil fit, measured by O. Garcia for
    0.5 < y < 0.99 and M. Doyle for y < 0.4), evaluated at ``s = stretch * y``:

    ``U = 2.16216 + 0.07645 tanh(30.834 - 54.4806 s) + 2.1581 tanh(52.294 - 50.294 s)
    - 0.14169 tanh(11.0923 - 19.8543 s) + 0.2051 tanh(1.4684 - 5.4888 s)
    + 0.2531 tanh((0.56478 - s) / 0.1316) - 0.02167 tanh((s - 0.525) / 0.006)``

    with ``stretch = 1.062`` as in S. G. Marquis, V. Sulzer, R. Timms, C. P. Please,
    S. J. Chapman, J. Electrochem. Soc. 166 (2019) A3693, doi:10.1149/2.0341915jes."""

    stretch: float = 1.062
    kind: ClassVar[str] = "sto"

    @property
    def spec(self) -> tuple:
        return (MARQUIS2019_LICO2, np.array([float(self.stretch)]))

    def __call__(self, sto) -> np.ndarray:
        return _apply(self.spec, sto)


@dataclass(frozen=True)
class Kim2011NcaOcp:
    """LiNi0.8Co0.15Al0.05O2 (NCA, a LiNiO2-type oxide) open-circuit potential [V vs
    Li/Li+]:

    ``U = 1.638 y^10 - 2.222 y^9 + 15.056 y^8 - 23.488 y^7 + 81.246 y^6 - 344.566 y^5
    + 621.3475 y^4 - 554.774 y^3 + 264.427 y^2 - 66.3691 y + 11.8058
    - 0.61386 exp(5.8201 y^136.4)``

    G.-H. Kim, K. Smith, K.-J. Lee, S. Santhanagopalan, A. Pesaran, J. Electrochem. Soc.
    158 (2011) A955, doi:10.1149/1.3597614 (NREL "nominal design" cell). The last term
    makes U fall steeply above y ~ 0.97; the fit is meant for 0.3 <= y <= ~0.97."""

    kind: ClassVar[str] = "sto"

    spec: ClassVar[tuple] = (KIM2011_NCA, np.zeros(1))

    def __call__(self, sto) -> np.ndarray:
        return _apply(self.spec, sto)


chen2020_graphite_ocp = Chen2020GraphiteOcp()
chen2020_nmc811_ocp = Chen2020Nmc811Ocp()
nyman2008_conductivity = Nyman2008Conductivity()
nyman2008_diffusivity = Nyman2008Diffusivity()
doyle1996_coke_ocp = Doyle1996CokeOcp()
doyle1996_spinel_ocp = Doyle1996SpinelOcp()
marquis2019_lico2_ocp = Marquis2019LiCoO2Ocp()
kim2011_nca_ocp = Kim2011NcaOcp()

#: LiPF6 in EC:DMC 1:2 + PVdF-HFP gel (Doyle 1996 cell 1), kappa [S/m] vs c_e [mol/m^3];
#: coefficients in S/cm for c in mol/L (mpet Doyle96_EC_DMC_1_2, "eq. 2" of the paper per
#: dualfoil5.2.f case 107)
doyle1996_kappa_ec_dmc_1_2 = PolynomialInC(
    (1.0793e-4, 6.7461e-3, -5.2245e-3, 1.3605e-3, -1.1724e-4), 1000.0, 100.0
)
#: LiPF6 in EC:DMC 2:1 + PVdF-HFP gel (Doyle 1996 cells 2 and 3), kappa [S/m]; coefficients
#: in S/cm for c in mol/L (mpet Doyle96_EC_DMC_2_1, "eq. 1" of the paper per dualfoil5.2.f
#: case 108, with the corrected c^4 coefficient -1.6018e-4)
doyle1996_kappa_ec_dmc_2_1 = PolynomialInC(
    (4.1253e-4, 5.007e-3, -4.7212e-3, 1.5094e-3, -1.6018e-4), 1000.0, 100.0
)


#: names usable in parameter files: instances are ready functions (``ocp_V = "name"``),
#: classes are factories called with the keyword arguments of a ``{ function = "name",
#: ... }`` table
FUNCTIONS: dict[str, Any] = {
    # ready functions
    "chen2020_graphite_ocp": chen2020_graphite_ocp,
    "chen2020_nmc811_ocp": chen2020_nmc811_ocp,
    "nyman2008_conductivity": nyman2008_conductivity,
    "nyman2008_diffusivity": nyman2008_diffusivity,
    "doyle1996_coke_ocp": doyle1996_coke_ocp,
    "doyle1996_spinel_ocp": doyle1996_spinel_ocp,
    "doyle1996_kappa_ec_dmc_1_2": doyle1996_kappa_ec_dmc_1_2,
    "doyle1996_kappa_ec_dmc_2_1": doyle1996_kappa_ec_dmc_2_1,
    "marquis2019_lico2_ocp": marquis2019_lico2_ocp,
    "kim2011_nca_ocp": kim2011_nca_ocp,
    # factories
    "constant": Constant,
    "table": Table,
    "polynomial_in_c": PolynomialInC,
    "tanh_staircase": TanhStaircase,
}


def spec_of(fn: Any) -> tuple[int, np.ndarray]:
    """The compiled form ``(code, params)`` of a stoichiometry function of this module."""
    spec = getattr(fn, "spec", None)
    if spec is None:
        raise TypeError(f"material function {fn!r} has no compiled form: use the functions of cosim.cell.functions")
    return int(spec[0]), np.asarray(spec[1], dtype=np.float64)


def electrolyte_spec(fn: Any) -> tuple[int, np.ndarray, float, float]:
    """``(code, params, activation_J_mol, T_ref_K)`` of an electrolyte function (its
    Arrhenius factor unwrapped; no activation for a plain function of concentration)."""
    if isinstance(fn, ElectrolyteArrhenius):
        code, p = spec_of(fn.base)
        return code, p, float(fn.activation_energy_J_mol), float(fn.T_ref_K)
    code, p = spec_of(fn)
    return code, p, 0.0, 298.15


def function_kind(fn: Any) -> str:
    """``"sto"``, ``"electrolyte"`` or ``"any"`` for a function or factory of this module;
    ``"any"`` for other callables (nothing is known about them)."""
    return getattr(fn, "kind", "any")


def is_factory(entry: Any) -> bool:
    """Whether a :data:`FUNCTIONS` entry is a factory (a class) rather than a function."""
    return isinstance(entry, type)
