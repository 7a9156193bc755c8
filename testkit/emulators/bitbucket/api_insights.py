"""Code Insights: reports keyed by external id (PUT creates or replaces), annotations by external id.

A report or annotation path ID is "Either the uuid or external-id"; a PUT with an unknown one creates
it with that external id (the body's `external_id`, if any, is ignored). Deleting a report deletes its
annotations. Reports live on the full commit hash; the path may use a unique prefix.
"""

from __future__ import annotations

from . import insights, paging, render
from .backend import Backend, Call, Reply
from .state import Annotation, Report


def _commit(call: Call) -> str:
    return call.repo.commit(str(call.params["commit"])).hash


def _report(call: Call) -> Report:
    return call.repo.report(_commit(call), str(call.params["reportId"]))


def list_reports(backend: Backend, call: Call) -> Reply:
    commit = _commit(call)
    found = [r for (c, _), r in call.repo.reports.items() if c == commit]
    body = paging.page_of(
        found, render.report, query=call.query, raw_query=call.raw_query, url=call.url, limits=backend.limits
    )
    return Reply(200, body)


def put_report(backend: Backend, call: Call) -> Reply:
    commit, ref = _commit(call), str(call.params["reportId"])
    fields = insights.report_fields(call.body, backend.limits)
    now = backend.now()
    same = (r for (c, _), r in call.repo.reports.items() if c == commit and ref in (r.uuid, r.external_id))
    existing = next(same, None)
    if existing is None:
        report = Report(backend.ids.uuid(), ref, commit, fields, now, now)
        call.repo.reports[(commit, ref)] = report
    else:
        report = existing
        report.fields, report.updated_on = fields, now
        if not backend.readings.report_put_keeps_annotations:
            report.annotations.clear()
    return Reply(200, render.report(report), applied=True)


def get_report(backend: Backend, call: Call) -> Reply:
    return Reply(200, render.report(_report(call)))


def delete_report(backend: Backend, call: Call) -> Reply:
    report = _report(call)
    del call.repo.reports[(report.commit, report.external_id)]
    return Reply(204, applied=True)


def list_annotations(backend: Backend, call: Call) -> Reply:
    report = _report(call)
    body = paging.page_of(
        list(report.annotations),
        lambda external_id: render.annotation(report, external_id),
        query=call.query,
        raw_query=call.raw_query,
        url=call.url,
        limits=backend.limits,
    )
    return Reply(200, body)


def bulk_annotations(backend: Backend, call: Call) -> Reply:
    """All or nothing: a request that breaks a rule changes no annotation."""
    report = _report(call)
    ids = insights.bulk_external_ids(call.body, backend.limits)
    fields = [insights.annotation_fields(item, backend.limits) for item in call.body]
    added = sum(1 for external_id in ids if external_id not in report.annotations)
    insights.check_report_total(len(report.annotations), added, backend.limits)
    for external_id, values in zip(ids, fields, strict=True):
        _upsert(backend, report, external_id, values)
    return Reply(200, [render.annotation(report, external_id) for external_id in ids], applied=True)


def put_annotation(backend: Backend, call: Call) -> Reply:
    report = _report(call)
    ref = str(call.params["annotationId"])
    fields = insights.annotation_fields(call.body, backend.limits)
    existing = next((a for a in report.annotations.values() if ref in (a.uuid, a.external_id)), None)
    if existing is None:
        insights.check_report_total(len(report.annotations), 1, backend.limits)
    external_id = existing.external_id if existing else ref
    _upsert(backend, report, external_id, fields)
    return Reply(200, render.annotation(report, external_id), applied=True)


def get_annotation(backend: Backend, call: Call) -> Reply:
    report = _report(call)
    found = report.annotation(str(call.params["annotationId"]))
    return Reply(200, render.annotation(report, found.external_id))


def delete_annotation(backend: Backend, call: Call) -> Reply:
    report = _report(call)
    found = report.annotation(str(call.params["annotationId"]))
    del report.annotations[found.external_id]
    return Reply(204, applied=True)


def _upsert(backend: Backend, report: Report, external_id: str, fields: dict[str, object]) -> None:
    now = backend.now()
    current = report.annotations.get(external_id)
    if current is None:
        report.annotations[external_id] = Annotation(backend.ids.uuid(), external_id, fields, now, now)
    else:
        current.fields, current.updated_on = fields, now
