"""Marketing → Journeys: the list, the journey form, the builder (the steps as a graph with a
form per step, activation with problems shown on their steps, stats, enrolling someone by
hand), the sequence editor, and the enrollment inspector."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tend.core.errors import TendError, ValidationFailed
from tend.core.views.base import apply_errors, require_perm, tenant_and_actor
from tend.marketing.models_journeys import (
    JourneyKind,
    JourneyStatus,
    StepType,
    TriggerType,
)
from tend.marketing.selectors.journeys import (
    contact_journeys,
    enrollment_list,
    inspector_contacts,
    journey_filters,
    journey_get,
    journey_list,
    journey_stats,
)
from tend.marketing.services.journeys import (
    journey_activate,
    journey_archive,
    journey_create,
    journey_enroll,
    journey_pause,
    journey_problems,
    journey_set_steps,
    journey_steps,
    journey_update,
    sequence_items,
    sequence_set,
    step_dicts,
)
from tend.marketing.views.journeys_graph import build_tree

SEQUENCE_ROWS = 6


_ctx = tenant_and_actor


@require_perm("journeys.view")
def journeys_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = _ctx(request)
    filters = journey_filters(request.GET)
    return render(request, "marketing/journeys_list.html", {
        "journeys": list(journey_list(tenant=tenant, **filters)), **filters,
        "statuses": JourneyStatus.choices, "can_add": actor.has_perm("journeys.add")})


class JourneyForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    description = forms.CharField(label=gettext_lazy("Description"), required=False,
                                  max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=JourneyKind.choices,
                             initial=JourneyKind.JOURNEY, widget=forms.RadioSelect,
                             help_text=gettext_lazy("A sequence is a list of messages, each "
                                                    "some time after enrollment."))
    trigger_type = forms.ChoiceField(label=gettext_lazy("Who enters"),
                                     choices=TriggerType.choices, initial=TriggerType.MANUAL)
    activity_type = forms.CharField(
        label=gettext_lazy("Activity type"), required=False, max_length=100,
        help_text=gettext_lazy("For “An activity happens”, e.g. TEETIME_BOOKED."))
    segment = forms.ChoiceField(label=gettext_lazy("Segment"), required=False,
                                help_text=gettext_lazy("For entering or leaving a segment."))
    date_field = forms.CharField(
        label=gettext_lazy("Date field"), required=False, initial="date_of_birth",
        help_text=gettext_lazy("For “A date comes round”: date_of_birth or custom.<key>."))
    days_before = forms.IntegerField(label=gettext_lazy("Days before the date"),
                                     required=False, min_value=0, max_value=365, initial=0)
    time_zone = forms.CharField(label=gettext_lazy("Time zone"), max_length=64, initial="UTC")
    allow_reentry = forms.BooleanField(label=gettext_lazy("A contact may go through again"),
                                       required=False)
    max_enrollments = forms.IntegerField(label=gettext_lazy("Most people on it at once"),
                                         required=False, min_value=1)

    def __init__(self, *args: Any, tenant: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from tend.marketing.models import Segment

        segment_field = self.fields["segment"]
        assert isinstance(segment_field, forms.ChoiceField)
        segment_field.choices = [("", "—")] + [
            (str(pk), name) for pk, name in Segment.objects.filter(tenant=tenant)
            .order_by("name").values_list("pk", "name")[:500]]
        if editing:
            del self.fields["kind"]

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        trigger = data["trigger_type"]
        config: dict[str, Any] = {}
        if trigger == TriggerType.ACTIVITY:
            config = {"activity_type": data.get("activity_type") or ""}
        elif trigger in (TriggerType.SEGMENT_ENTERED, TriggerType.SEGMENT_LEFT):
            config = {"segment_id": data.get("segment") or ""}
        elif trigger == TriggerType.DATE:
            config = {"field": data.get("date_field") or "date_of_birth",
                      "days_before": data.get("days_before") or 0}
        out = {"name": data["name"], "description": data["description"],
               "trigger_type": trigger, "trigger_config": config,
               "time_zone": data["time_zone"], "allow_reentry": data["allow_reentry"],
               "max_enrollments": data.get("max_enrollments")}
        if "kind" in self.fields:
            out["kind"] = data["kind"]
        return out


_TRIGGER_ERRORS = {"trigger_config.activity_type": "activity_type",
                   "trigger_config.segment_id": "segment", "trigger_config.field": "date_field",
                   "trigger_config.days_before": "days_before"}


@require_perm("journeys.add")
def journeys_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = _ctx(request)
    if request.method != "POST":
        form = JourneyForm(tenant=tenant, initial={
            "kind": request.GET.get("kind", JourneyKind.JOURNEY),
            "time_zone": tenant.time_zone or "UTC"})
        return render(request, "marketing/journey_form.html", {"form": form})
    form = JourneyForm(request.POST, tenant=tenant)
    if form.is_valid():
        try:
            journey = journey_create(tenant=tenant, actor=actor, data=form.service_data())
        except TendError as exc:
            apply_errors(form, exc, field_map=_TRIGGER_ERRORS)
        else:
            messages.success(request, _("The journey %(name)s was created.") % {
                "name": journey.name})
            if journey.kind == JourneyKind.SEQUENCE:
                return redirect("marketing:journeys-sequence", org_slug=org_slug,
                                journey_id=journey.pk)
            return redirect("marketing:journeys-detail", org_slug=org_slug,
                            journey_id=journey.pk)
    return render(request, "marketing/journey_form.html", {"form": form}, status=422)


@require_perm("journeys.change")
def journeys_edit(request: HttpRequest, org_slug: str, journey_id: UUID) -> HttpResponse:
    tenant, actor = _ctx(request)
    journey = journey_get(tenant=tenant, journey_id=journey_id)
    if request.method != "POST":
        config = journey.trigger_config
        form = JourneyForm(tenant=tenant, editing=True, initial={
            "name": journey.name, "description": journey.description,
            "trigger_type": journey.trigger_type,
            "activity_type": config.get("activity_type", ""),
            "segment": config.get("segment_id", ""),
            "date_field": config.get("field", "date_of_birth"),
            "days_before": config.get("days_before", 0), "time_zone": journey.time_zone,
            "allow_reentry": journey.allow_reentry,
            "max_enrollments": journey.max_enrollments})
        return render(request, "marketing/journey_form.html", {"form": form,
                                                               "journey": journey})
    form = JourneyForm(request.POST, tenant=tenant, editing=True)
    if form.is_valid():
        try:
            journey_update(tenant=tenant, actor=actor, journey=journey,
                           data=form.service_data())
        except TendError as exc:
            apply_errors(form, exc, field_map=_TRIGGER_ERRORS)
        else:
            messages.success(request, _("Saved."))
            return redirect("marketing:journeys-detail", org_slug=org_slug,
                            journey_id=journey.pk)
    return render(request, "marketing/journey_form.html", {"form": form, "journey": journey},
                  status=422)


def _builder_context(request: HttpRequest, journey: Any,
                     problems: dict[str, list[str]] | None = None) -> dict[str, Any]:
    tenant, actor = _ctx(request)
    steps = step_dicts(journey_steps(tenant=tenant, journey=journey))
    if problems is None:
        problems = (journey_problems(tenant=tenant, journey=journey)
                    if journey.status != JourneyStatus.ARCHIVED else {})
    stats = journey_stats(tenant=tenant, journey=journey)
    root, loose = build_tree(steps, problems, stats["steps"])
    recent = (list(enrollment_list(tenant=tenant, journey=journey).order_by("-enrolled_at")[:20])
              if actor.has_perm("contacts.view") else [])
    return {"journey": journey, "root": root, "loose": loose, "problems": problems,
            "journey_problems": problems.get("journey", []), "stats": stats,
            "recent": recent, "steps": steps,
            "step_types": [c for c in StepType.choices if c[0] != StepType.TRIGGER],
            "can_change": actor.has_perm("journeys.change")
            and journey.status != JourneyStatus.ARCHIVED,
            "can_enroll": actor.has_perm("journeys.send") and actor.has_perm("contacts.view")
            and journey.status == JourneyStatus.ACTIVE,
            "can_archive": actor.has_perm("journeys.delete")
            and journey.status != JourneyStatus.ARCHIVED}


@require_perm("journeys.view")
def journeys_detail(request: HttpRequest, org_slug: str, journey_id: UUID) -> HttpResponse:
    """The builder: the graph with per-step stats and problems."""
    tenant, _actor = _ctx(request)
    journey = journey_get(tenant=tenant, journey_id=journey_id)
    return render(request, "marketing/journey_detail.html", _builder_context(request, journey))


@require_POST
@require_perm("journeys.change")
def journeys_activate(request: HttpRequest, org_slug: str, journey_id: UUID) -> HttpResponse:
    """Activate; when the steps cannot run, the builder again with each problem on its
    step."""
    tenant, actor = _ctx(request)
    journey = journey_get(tenant=tenant, journey_id=journey_id)
    try:
        journey_activate(tenant=tenant, actor=actor, journey=journey)
    except ValidationFailed as exc:
        problems = {key.removeprefix("steps."): msgs for key, msgs in exc.fields.items()}
        context = _builder_context(request, journey, problems)
        context["activation_failed"] = True
        return render(request, "marketing/journey_detail.html", context, status=422)
    messages.success(request, _("The journey is active."))
    return redirect("marketing:journeys-detail", org_slug=org_slug, journey_id=journey.pk)


@require_POST
@require_perm("journeys.change")
def journeys_pause(request: HttpRequest, org_slug: str, journey_id: UUID) -> HttpResponse:
    tenant, actor = _ctx(request)
    journey = journey_get(tenant=tenant, journey_id=journey_id)
    journey_pause(tenant=tenant, actor=actor, journey=journey)
    messages.success(request, _("The journey is paused; enrollments keep their place."))
    return redirect("marketing:journeys-detail", org_slug=org_slug, journey_id=journey.pk)


@require_POST
@require_perm("journeys.delete")
def journeys_archive(request: HttpRequest, org_slug: str, journey_id: UUID) -> HttpResponse:
    tenant, actor = _ctx(request)
    journey = journey_get(tenant=tenant, journey_id=journey_id)
    journey_archive(tenant=tenant, actor=actor, journey=journey)
    messages.success(request, _("The journey was archived."))
    return redirect("marketing:journeys-list", org_slug=org_slug)


# --- the form per step ------------------------------------------------------------------------


class StepForm(forms.Form):
    """A step's settings. Which fields show depends on the type."""

    key = forms.RegexField(label=gettext_lazy("Key"), regex=r"^[A-Za-z0-9_-]{1,40}$",
                           max_length=40, help_text=gettext_lazy("A short name other steps "
                                                                 "use to point here."))
    name = forms.CharField(label=gettext_lazy("Label"), required=False, max_length=200)
    after = forms.ChoiceField(label=gettext_lazy("Insert after"), required=False)
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), required=False)
    template = forms.CharField(label=gettext_lazy("Template key"), required=False,
                               max_length=100)
    duration = forms.CharField(label=gettext_lazy("Wait for"), required=False, max_length=40,
                               help_text=gettext_lazy("e.g. 3 days, 24 hours, 30 minutes"))
    until = forms.CharField(label=gettext_lazy("Or until (date and time)"), required=False,
                            max_length=40, help_text="2026-05-01T09:00")
    rule = forms.CharField(label=gettext_lazy("Rule (JSON)"), required=False,
                           widget=forms.Textarea(attrs={"rows": 4, "dir": "ltr"}))
    timeout = forms.CharField(label=gettext_lazy("Wait for the rule at most"), required=False,
                              max_length=40)
    variants = forms.CharField(
        label=gettext_lazy("Branches"), required=False, max_length=500,
        help_text=gettext_lazy("name:weight:next step, one per line, e.g. A:50:send-a"),
        widget=forms.Textarea(attrs={"rows": 3, "dir": "ltr"}))
    action = forms.ChoiceField(label=gettext_lazy("Update"), required=False, choices=[
        ("set_field", gettext_lazy("Set a field")), ("add_tag", gettext_lazy("Add a tag")),
        ("remove_tag", gettext_lazy("Remove a tag")),
        ("set_lifecycle", gettext_lazy("Set the lifecycle stage")),
        ("add_to_segment", gettext_lazy("Add to a static list")),
        ("remove_from_segment", gettext_lazy("Remove from a static list"))])
    field = forms.CharField(label=gettext_lazy("Field"), required=False, max_length=80)
    value = forms.CharField(label=gettext_lazy("Value"), required=False, max_length=500)
    title = forms.CharField(label=gettext_lazy("Task title"), required=False, max_length=200)
    url = forms.CharField(label=gettext_lazy("Webhook address"), required=False,
                          max_length=500)
    next = forms.ChoiceField(label=gettext_lazy("Then go to"), required=False)
    yes = forms.ChoiceField(label=gettext_lazy("If it matches, go to"), required=False)
    no = forms.ChoiceField(label=gettext_lazy("Otherwise, go to"), required=False)

    FIELDS_BY_TYPE: dict[str, tuple[str, ...]] = {
        StepType.TRIGGER: ("next",),
        StepType.SEND: ("channel", "template", "next"),
        StepType.WAIT: ("duration", "until", "rule", "timeout", "next"),
        StepType.CONDITION: ("rule", "yes", "no"),
        StepType.SPLIT: ("variants",),
        StepType.UPDATE: ("action", "field", "value", "next"),
        StepType.CREATE_TASK: ("title", "next"),
        StepType.WEBHOOK: ("url", "next"),
        StepType.END: (),
    }

    def __init__(self, *args: Any, type_: str, keys: list[str], new: bool,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from tend.messaging.choices import ChannelKind

        self.type = type_
        targets = [("", "—")] + [(k, k) for k in keys]
        for name in ("next", "yes", "no", "after"):
            choice = self.fields[name]
            assert isinstance(choice, forms.ChoiceField)
            choice.choices = targets
        channel = self.fields["channel"]
        assert isinstance(channel, forms.ChoiceField)
        channel.choices = ChannelKind.choices
        keep = {"key", "name", *self.FIELDS_BY_TYPE.get(StepType(type_), ())}
        if new:
            keep.add("after")
        else:
            self.fields["key"].disabled = True
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]

    def config(self) -> dict[str, Any]:
        d = self.cleaned_data
        if self.type == StepType.SEND:
            return {"channel": d["channel"], "templateId": d["template"]}
        if self.type == StepType.WAIT:
            out = {k: d[k] for k in ("duration", "until") if d.get(k)}
            if d.get("rule"):
                out = {"untilRule": self._json("rule"), "timeout": d.get("timeout")}
            return out
        if self.type == StepType.CONDITION:
            return {"rule": self._json("rule")}
        if self.type == StepType.SPLIT:
            variants = []
            for line in (d.get("variants") or "").splitlines():
                parts = [p.strip() for p in line.split(":")]
                if len(parts) == 3 and parts[1].isdigit():
                    variants.append({"name": parts[0], "weight": int(parts[1]),
                                     "next": parts[2]})
                elif line.strip():
                    variants.append({"name": line.strip(), "weight": 0, "next": ""})
            return {"variants": variants}
        if self.type == StepType.UPDATE:
            return {"action": d["action"], "field": d.get("field", ""), "value": d["value"]}
        if self.type == StepType.CREATE_TASK:
            return {"title": d["title"]}
        if self.type == StepType.WEBHOOK:
            return {"url": d["url"]}
        return {}

    def _json(self, name: str) -> Any:
        try:
            return json.loads(self.cleaned_data.get(name) or "null")
        except ValueError:
            return None


def _step_initial(step: dict[str, Any]) -> dict[str, Any]:
    config = step["config"]
    initial: dict[str, Any] = {"key": step["key"], "name": step["name"], "next": step["next"],
                               "yes": step["yes"], "no": step["no"]}
    if step["type"] == StepType.SEND:
        initial.update(channel=config.get("channel"), template=config.get("templateId"))
    elif step["type"] == StepType.WAIT:
        initial.update(duration=config.get("duration", ""), until=config.get("until", ""),
                       timeout=config.get("timeout", ""))
        if config.get("untilRule"):
            initial["rule"] = json.dumps(config["untilRule"], indent=2, ensure_ascii=False)
    elif step["type"] == StepType.CONDITION:
        initial["rule"] = json.dumps(config.get("rule"), indent=2, ensure_ascii=False)
    elif step["type"] == StepType.SPLIT:
        initial["variants"] = "\n".join(f"{v['name']}:{v['weight']}:{v['next']}"
                                        for v in config.get("variants", []))
    elif step["type"] == StepType.UPDATE:
        initial.update(action=config.get("action"), field=config.get("field", ""),
                       value=config.get("label") or config.get("value", ""))
    elif step["type"] == StepType.CREATE_TASK:
        initial["title"] = config.get("title", "")
    elif step["type"] == StepType.WEBHOOK:
        initial["url"] = config.get("url", "")
    return initial


_STEP_FIELD_ERRORS = {"channel": "channel"}


@require_perm("journeys.change")
def journeys_step(request: HttpRequest, org_slug: str, journey_id: UUID,
                  step_key: str = "") -> HttpResponse:
    """Add a step (`?type=SEND`, optionally inserted after another) or edit one."""
    tenant, actor = _ctx(request)
    journey = journey_get(tenant=tenant, journey_id=journey_id)
    steps = step_dicts(journey_steps(tenant=tenant, journey=journey))
    keys = [s["key"] for s in steps]
    existing = next((s for s in steps if s["key"] == step_key), None) if step_key else None
    if step_key and existing is None:
        from django.http import Http404

        raise Http404
    type_ = existing["type"] if existing else (request.POST.get("type")
                                               or request.GET.get("type", ""))
    if type_ not in StepType.values or (existing is None and type_ == StepType.TRIGGER):
        messages.error(request, _("Choose a step type."))
        return redirect("marketing:journeys-detail", org_slug=org_slug, journey_id=journey.pk)
    context = {"journey": journey, "type": type_, "type_label": StepType(type_).label,
               "step": existing}
    if request.method != "POST":
        if existing:
            initial = _step_initial(existing)
        else:
            n = len(steps) + 1
            while f"s{n}" in keys:
                n += 1
            after = request.GET.get("after", "")
            initial = {"key": f"s{n}", "after": after,
                       "next": next((s["next"] for s in steps if s["key"] == after), "")}
        context["form"] = StepForm(initial=initial, type_=type_, keys=keys,
                                   new=existing is None)
        return render(request, "marketing/journey_step.html", context)
    form = StepForm(request.POST, type_=type_, keys=keys, new=existing is None,
                    initial=_step_initial(existing) if existing else None)
    context["form"] = form
    if form.is_valid():
        d = form.cleaned_data
        key = existing["key"] if existing else d["key"]
        item = {"key": key, "type": type_, "name": d.get("name", ""), "config": form.config(),
                "next": d.get("next", ""), "yes": d.get("yes", ""), "no": d.get("no", "")}
        if existing:
            steps = [item if s["key"] == key else s for s in steps]
        else:
            after = d.get("after") or ""
            for s in steps:
                if after and s["key"] == after and s["type"] not in (
                        StepType.CONDITION, StepType.SPLIT, StepType.END):
                    if not item["next"] and type_ not in (StepType.CONDITION, StepType.SPLIT):
                        item["next"] = s["next"]
                    s["next"] = key
            position = next((i + 1 for i, s in enumerate(steps) if s["key"] == after),
                            len(steps))
            end_at = next((i for i, s in enumerate(steps) if s["type"] == StepType.END),
                          len(steps))
            steps.insert(min(position, end_at) if after else end_at, item)
        try:
            journey_set_steps(tenant=tenant, actor=actor, journey=journey, steps=steps)
        except TendError as exc:
            own = {k.removeprefix(f"steps.{key}"): v for k, v in exc.fields.items()
                   if k == f"steps.{key}"}
            others = {k: v for k, v in exc.fields.items() if k != f"steps.{key}"}
            for msgs in own.values():
                for message in msgs:
                    form.add_error(None, message)
            if others:
                apply_errors(form, type(exc)(exc.message, fields=others))
            elif not own:
                form.add_error(None, exc.message)
        else:
            messages.success(request, _("Step saved."))
            return redirect("marketing:journeys-detail", org_slug=org_slug,
                            journey_id=journey.pk)
    return render(request, "marketing/journey_step.html", context, status=422)


@require_POST
@require_perm("journeys.change")
def journeys_step_delete(request: HttpRequest, org_slug: str, journey_id: UUID,
                         step_key: str) -> HttpResponse:
    """Remove a step; links to it move on to where it went (its next step)."""
    tenant, actor = _ctx(request)
    journey = journey_get(tenant=tenant, journey_id=journey_id)
    steps = step_dicts(journey_steps(tenant=tenant, journey=journey))
    gone = next((s for s in steps if s["key"] == step_key), None)
    if gone is None or gone["type"] == StepType.TRIGGER:
        messages.error(request, _("This step cannot be removed."))
    else:
        steps = [s for s in steps if s["key"] != step_key]
        for s in steps:
            for link in ("next", "yes", "no"):
                if s[link] == step_key:
                    s[link] = gone["next"]
            for variant in s["config"].get("variants", []) if s["type"] == "SPLIT" else []:
                if variant["next"] == step_key:
                    variant["next"] = gone["next"]
        try:
            journey_set_steps(tenant=tenant, actor=actor, journey=journey, steps=steps)
            messages.success(request, _("Step removed."))
        except TendError as exc:
            messages.error(request, exc.message)
    return redirect("marketing:journeys-detail", org_slug=org_slug, journey_id=journey.pk)


# --- enrolling, the sequence editor, the inspector ----------------------------------------------


@require_POST
@require_perm("journeys.send", "contacts.view")
def journeys_enroll(request: HttpRequest, org_slug: str, journey_id: UUID) -> HttpResponse:
    from tend.people.selectors.contacts import contact_get

    tenant, actor = _ctx(request)
    journey = journey_get(tenant=tenant, journey_id=journey_id)
    try:
        contact = contact_get(tenant=tenant, contact_id=request.POST.get("contact", ""))
        journey_enroll(tenant=tenant, actor=actor, journey=journey, contact=contact)
    except TendError as exc:
        text = " ".join(str(m) for msgs in exc.fields.values() for m in msgs) or exc.message
        messages.error(request, text)
    else:
        messages.success(request, _("%(name)s was enrolled.") % {"name": contact.display_name})
    return redirect("marketing:journeys-detail", org_slug=org_slug, journey_id=journey.pk)


@require_perm("journeys.view", "contacts.view")
def journeys_contact_search(request: HttpRequest, org_slug: str) -> HttpResponse:
    """htmx: contacts matching the search, as options to pick (enroll, inspect)."""
    tenant, _actor = _ctx(request)
    contacts = inspector_contacts(tenant=tenant, search=request.GET.get("q", ""))
    return render(request, "marketing/partials/journey_contact_options.html",
                  {"contacts": contacts, "mode": request.GET.get("mode", "enroll")})


@require_perm("journeys.change")
def journeys_sequence(request: HttpRequest, org_slug: str, journey_id: UUID) -> HttpResponse:
    """The simple editor of a linear journey: a row per message."""
    from tend.messaging.choices import ChannelKind

    tenant, actor = _ctx(request)
    journey = journey_get(tenant=tenant, journey_id=journey_id)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        rows = []
        for i in range(SEQUENCE_ROWS):
            channel = request.POST.get(f"channel-{i}", "")
            template = request.POST.get(f"template-{i}", "").strip()
            after = request.POST.get(f"after-{i}", "").strip()
            if template:
                rows.append({"channel": channel, "template": template, "after": after})
        try:
            sequence_set(tenant=tenant, actor=actor, journey=journey, items=rows)
        except TendError as exc:
            errors = exc.fields or {"items": [exc.message]}
        else:
            messages.success(request, _("The sequence was saved."))
            return redirect("marketing:journeys-detail", org_slug=org_slug,
                            journey_id=journey.pk)
    else:
        rows = sequence_items(journey_steps(tenant=tenant, journey=journey))
    padded = [*rows, *[{"channel": "", "template": "", "after": ""}] * SEQUENCE_ROWS][
        :SEQUENCE_ROWS]
    flat_errors = [f"{k}: {m}" for k, msgs in errors.items() for m in msgs]
    return render(request, "marketing/journey_sequence.html", {
        "journey": journey, "rows": [(i, r) for i, r in enumerate(padded)],
        "channels": ChannelKind.choices, "errors": flat_errors},
        status=422 if errors else 200)


@require_perm("journeys.view", "contacts.view")
def journeys_inspector(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Where is this person, what happened, what comes next."""
    from tend.people.models import Contact

    tenant, _actor = _ctx(request)
    q = request.GET.get("q", "").strip()[:200]
    contact = None
    items: list[dict[str, Any]] = []
    contact_id = request.GET.get("contact", "")
    if contact_id:
        try:
            contact = Contact.objects.filter(tenant=tenant, pk=UUID(contact_id)).first()
        except ValueError:
            contact = None
        if contact is not None:
            items = contact_journeys(tenant=tenant, contact_id=contact.pk)
    return render(request, "marketing/journey_inspector.html", {
        "q": q, "contacts": inspector_contacts(tenant=tenant, search=q) if q else [],
        "contact": contact, "items": items})


prefix = "o/<slug:org_slug>/marketing/journeys/"
urlpatterns = [
    path(prefix, journeys_list, name="journeys-list"),
    path(f"{prefix}new/", journeys_create, name="journeys-create"),
    path(f"{prefix}inspector/", journeys_inspector, name="journeys-inspector"),
    path(f"{prefix}contacts/", journeys_contact_search, name="journeys-contact-search"),
    path(f"{prefix}<uuid:journey_id>/", journeys_detail, name="journeys-detail"),
    path(f"{prefix}<uuid:journey_id>/edit/", journeys_edit, name="journeys-edit"),
    path(f"{prefix}<uuid:journey_id>/sequence/", journeys_sequence, name="journeys-sequence"),
    path(f"{prefix}<uuid:journey_id>/steps/new/", journeys_step, name="journeys-step-new"),
    path(f"{prefix}<uuid:journey_id>/steps/<str:step_key>/", journeys_step,
         name="journeys-step"),
    path(f"{prefix}<uuid:journey_id>/steps/<str:step_key>/delete/", journeys_step_delete,
         name="journeys-step-delete"),
    path(f"{prefix}<uuid:journey_id>/activate/", journeys_activate, name="journeys-activate"),
    path(f"{prefix}<uuid:journey_id>/pause/", journeys_pause, name="journeys-pause"),
    path(f"{prefix}<uuid:journey_id>/archive/", journeys_archive, name="journeys-archive"),
    path(f"{prefix}<uuid:journey_id>/enroll/", journeys_enroll, name="journeys-enroll"),
]
