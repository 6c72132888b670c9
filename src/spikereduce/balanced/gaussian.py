"""Gaussian expectations of the sigmoidal intensity and its derivatives.

F = E f(m + sqrt(v) Z), dF/dm = E f', dF/dv = E f''/2; closed form
for the probit sigmoid, probabilists' Gauss-Hermite quadrature for the logistic one.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import expit, ndtr

N_NODES = 80
_Z, _W = hermegauss(N_NODES)
_W = _W / math.sqrt(2.0 * math.pi)  # weights of E g(Z), Z ~ N(0, 1)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _probit(lam: float, beta: float, h: float, m, v):
    q2 = 1.0 + beta * beta * v
    q = np.sqrt(q2)
    u = beta * (m - h) / q
    phi = _INV_SQRT_2PI * np.exp(-0.5 * u * u)
    return lam * ndtr(u), lam * phi * beta / q, -lam * phi * u * beta * beta / (2.0 * q2)


def _logistic(lam: float, beta: float, h: float, m, v):
    m = np.asarray(m, dtype=float)
    v = np.asarray(v, dtype=float)
    x = m[..., None] + np.sqrt(v)[..., None] * _Z
    s = expit(beta * (x - h))
    ds = s * (1.0 - s)
    F = lam * (s @ _W)
    Fm = lam * beta * (ds @ _W)
    Fv = 0.5 * lam * beta * beta * ((ds * (1.0 - 2.0 * s)) @ _W)
    return F, Fm, Fv


def gauss_rate(sigmoid: str, lam: float, beta: float, h: float, m, v):
    """(F, dF/dm, dF/dv) for f(x) = lam S(beta (x - h)) and X ~ N(m, v), v >= 0.

    Works elementwise on arrays of m and v. Rates in 1/time.
    """
    if sigmoid == "probit":
        return _probit(lam, beta, h, m, v)
    if sigmoid == "logistic":
        return _logistic(lam, beta, h, m, v)
    raise ValueError(f"unknown sigmoid {sigmoid!r}")


def pointwise_rate(sigmoid: str, lam: float, beta: float, h: float, x):
    """f(x) = lam S(beta (x - h)) (probit S = Phi, logistic S = 1/(1 + e^-z))."""
    z = beta * (np.asarray(x, dtype=float) - h)
    return lam * (ndtr(z) if sigmoid == "probit" else expit(z))


def pointwise_slope(sigmoid: str, lam: float, beta: float, h: float, x):
    """f'(x), used for the empirical balance stiffness D of a network state."""
    z = beta * (np.asarray(x, dtype=float) - h)
    if sigmoid == "probit":
        return lam * beta * _INV_SQRT_2PI * np.exp(-0.5 * z * z)
    s = expit(z)
    return lam * beta * s * (1.0 - s)


def sigmoid_code(sigmoid: str) -> int:
    """Integer code of the sigmoid for the compiled kernels (0 probit, 1 logistic)."""
    return {"probit": 0, "logistic": 1}[sigmoid]
