"""Eligibility: the 20 criteria of the registration, evaluated per screened subject.

Contract: derivations.md, "Eligibility" (the table there is the rule of each criterion), with the
criterion text and source in ``study/criteria.csv`` and every numeric limit in
``study/protocol_limits.csv``. Each criterion is one ``derive_<ietestcd>_<what>`` function of the
subject frame (one row per subject in DM, indexed by ``USUBJID``) and the harmonized forms it needs;
it returns an *outcome*: ``FLAG`` (nullable boolean: criterion met / present, not met / absent, or
``<NA>`` = NOT EVALUABLE) and ``REASON`` (human text).
:func:`assets.sdtm.eligibility.assembly.derive_eligibility` assembles the outcomes into one row per
subject x criterion.

Modules:

- :mod:`.logic`: three-valued date comparisons and per-subject Kleene OR / AND;
- :mod:`.outcome`: the outcome frame, its reason texts, rounding before a limit is compared;
- :mod:`.forms`: the columns each form offers the criteria;
- :mod:`.screening`: the screened subjects and their last screening values;
- :mod:`.medications`: drug class and daily prednisone-equivalent dose of CM records;
- :mod:`.inclusion` (IN02-IN06) and :mod:`.exclusion` (EX01-EX13); IN01 and EX14 come from the IE
  form alone;
- :mod:`.assembly`: the investigator's answers and the per-subject x criterion result;
- :mod:`.findings`: eligibility data queries and the protocol-deviation listing;
- :mod:`.assets`: the Dagster assets and checks.

Conventions (documented once, used by every criterion):

- Three-valued logic: pandas' nullable boolean follows Kleene logic, so ``a & b`` is False when
  either is False and NA when one is NA and the other True; a subject-level "any record" is True
  when one record is True, NA when none is True but one is NA, else False.
- Partial dates are compared at their precision through :func:`assets.common.dates.iso_bounds`:
  a comparison is True/False only when every full date the partial date can stand for agrees;
  otherwise it is NA and the criterion NOT EVALUABLE.
- "Ongoing at ICDAT": started on or before ``ICDAT`` and ``xxONGO = Y`` or end date on or after
  ``ICDAT``. A medical-history record without a start date counts as started before consent
  (MH is history collected at screening); a medication without a start date does not decide.
- "Ended less than N days before ICDAT" is ``ICDAT - end < N``, i.e. end on or after
  ``ICDAT - (N - 1)`` days: a biologic ended 182 days before consent excludes, 183 does not.
- Numbers converted between units (LB pounds -> kg, ukat/L x 60) carry binary floating-point
  noise (0.7 x 60 = 42.00000000000001); every comparison with a protocol limit rounds both sides
  to :data:`assets.common.precision.DECIMALS` decimals first, far below any clinical precision and
  far above the noise.
- "Last at SCREENING": the latest record of the visit by its ISO date (then ``RECID``) that has a
  value; repeated screening measurements are re-tests and the last one stands.
"""
