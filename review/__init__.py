"""Human review above the archive: corrections, re-imposed decisions, spot-check samples.

:mod:`minqing.review.corrections` edits lines, categories, statuses, dates, links and entry
boundaries (each save audited) and re-imposes reviewers' decisions after every machine re-run;
:mod:`minqing.review.spotcheck` draws OCR acceptance samples and reports their error rate.
"""
