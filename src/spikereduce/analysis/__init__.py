"""What two or more families share to set a microscopic result beside its reduction: the
micro-vs-macro comparison (:class:`~spikereduce.analysis.compare.Comparison`, its table and
distances such as the relative L2 error of two traces).

Observables that belong to one family stay in that family: markov rates, synchrony indices
and MFE peaks in ``markov.observables``; avalanche histograms, goodness of fit and power-law
fits in ``avalanche.analysis``; nlif binned rates in ``nlif.observables``. An observable moves
here when a second family needs it.
"""
