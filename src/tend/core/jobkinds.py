"""The registry of job kinds: what a `Job` of each kind does when a worker runs it.

A module registers a kind from its `AppConfig.ready()`:

    register_job_kind(JobKind("people.import", _("Contact import"), run=run_import))

`run(*, tenant, job)` runs inside the tenant's scope, reports with the job services
(`job_progress`, `job_add_error`) and returns a JSON-able result dict (or None). Raising
`TendError` fails the job with its message; `JobCancelled` (raised by `job_progress` once
someone cancels) ends it quietly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class JobKind:
    key: str
    label: str | Promise
    run: Callable[..., dict[str, Any] | None]
    description: str | Promise = ""
    # People with `jobs.manage` may start it from the jobs page, with `default_params`.
    startable: bool = False
    default_params: dict[str, Any] = field(default_factory=dict)
    # Checks and normalizes params before a job is created; raises ValidationFailed.
    clean_params: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # People-facing names of the keys the kind puts in `Job.counts`.
    count_labels: dict[str, str | Promise] = field(default_factory=dict)


_kinds: dict[str, JobKind] = {}


def register_job_kind(kind: JobKind) -> None:
    _kinds[kind.key] = kind


def get_job_kind(key: str) -> JobKind | None:
    return _kinds.get(key)


def job_kinds() -> list[JobKind]:
    return sorted(_kinds.values(), key=lambda k: k.key)


def job_kind_label(key: str) -> str | Promise:
    kind = _kinds.get(key)
    return kind.label if kind else key


def job_count_labels(key: str, counts: dict[str, Any]) -> list[tuple[str, str | Promise, Any]]:
    """`(key, label, value)` for each count of a job of kind `key`, in a stable order."""
    kind = _kinds.get(key)
    labels: dict[str, str | Promise] = {"errors": _("Problems")}
    if kind is not None:
        labels.update(kind.count_labels)
    return [(name, labels.get(name, name), value) for name, value in sorted(counts.items())]



# --- the core's own kinds ----------------------------------------------------------------------

SAMPLE_MAX_ITEMS = 100_000
SAMPLE_MAX_STEP_MS = 2_000


def _clean_sample_params(params: dict[str, Any]) -> dict[str, Any]:
    from tend.core.errors import ValidationFailed

    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name, default, high in (("items", 300, SAMPLE_MAX_ITEMS),
                                ("step_ms", 25, SAMPLE_MAX_STEP_MS)):
        value = params.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | str):
            errors[name] = [str(_("Enter a whole number."))]
            continue
        try:
            number = int(value)
        except ValueError:
            errors[name] = [str(_("Enter a whole number."))]
            continue
        low = 1 if name == "items" else 0
        if not low <= number <= high:
            errors[name] = [str(_("Enter a number from %(low)d to %(high)d.")
                                % {"low": low, "high": high})]
            continue
        cleaned[name] = number
    unknown = set(params) - {"items", "step_ms"}
    for name in sorted(unknown):
        errors[name] = [str(_("Unknown parameter."))]
    if errors:
        raise ValidationFailed(fields=errors)
    return cleaned


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    divisor = 3
    while divisor * divisor <= n:
        if n % divisor == 0:
            return False
        divisor += 2
    return True


def run_sample_work(*, tenant: Any, job: Any) -> dict[str, Any]:
    """Sample work: test the numbers 1…`items` for primality, one step per number, pausing
    `step_ms` between steps so the progress bar has something to show."""
    import time

    from tend.core.services.jobs import job_progress

    items, step = int(job.params["items"]), int(job.params["step_ms"]) / 1000
    report_every = max(1, items // 100)
    primes = 0
    job_progress(tenant=tenant, job=job, processed=0, total=items,
                 counts={"primes": 0, "others": 0})
    for number in range(1, items + 1):
        primes += _is_prime(number)
        if number % report_every == 0 or number == items:
            job_progress(tenant=tenant, job=job, processed=number,
                         counts={"primes": primes, "others": number - primes})
        if step:
            time.sleep(step)
    return {"primes": primes, "largest_checked": items}


def register_core_job_kinds() -> None:
    register_job_kind(JobKind(
        "core.sample_work",
        _("Sample work"),
        run=run_sample_work,
        description=_("Counts the prime numbers up to a limit, step by step. "
                      "Shows how background jobs report progress."),
        startable=True,
        default_params={"items": 300, "step_ms": 25},
        clean_params=_clean_sample_params,
        count_labels={"primes": _("Prime numbers"), "others": _("Other numbers")},
    ))
