"""Bulk API 2.0 ingest over HTTP, as Salesforce answers it: `/services/data/vXX.X/jobs/ingest[/...]`.

The same bearer tokens as the REST API, its JSON array of errors, its `Sforce-Limit-Info` header. The jobs
themselves live in `bulk`; `_sandbox/bulk-jobs` lists them for a person or a test.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from ..faults import wait_released, with_faults
from ..models import Fault
from . import bulk
from .models import BulkIngestJob
from .views import INTEGRATION_USER_ID, DataApiAnswers, api_refusal, api_usage, data_answer, data_error
from .views import salesforce_datetime as when


def _refusal(request: HttpRequest, version: str, methods: tuple[str, ...]) -> HttpResponse | None:
    return api_refusal(request, version, methods, since=bulk.FIRST_VERSION)


def _error(exc: bulk.BulkApiError) -> JsonResponse:
    return data_error(exc.status, exc.code, exc.message)


def job_info(job: BulkIngestJob, *, detailed: bool) -> dict[str, Any]:
    """The job as Create Job and Upload Complete answer it; `detailed` adds what Get Job Info adds."""
    info: dict[str, Any] = {
        "id": job.job_id,
        "operation": job.operation,
        "object": job.object_name,
        "createdById": INTEGRATION_USER_ID,
        "createdDate": when(job.created_date),
        "systemModstamp": when(job.system_modstamp),
        "state": job.state,
        "externalIdFieldName": job.external_id_field,
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": float(job.api_version),
    }
    if job.state == BulkIngestJob.OPEN:
        info["contentUrl"] = f"services/data/v{job.api_version}/jobs/ingest/{job.job_id}/batches"
    info["lineEnding"] = job.line_ending
    info["columnDelimiter"] = job.column_delimiter
    if detailed:
        processed, failed = bulk.progress(job)
        milliseconds = bulk.processing_milliseconds(job)
        info |= {
            "jobType": "V2Ingest",
            "numberRecordsProcessed": processed,
            "numberRecordsFailed": failed,
            "retries": 0,
            "totalProcessingTime": milliseconds,
            "apiActiveProcessingTime": milliseconds,
            "apexProcessingTime": 0,
        }
        if job.state == BulkIngestJob.FAILED:
            info["errorMessage"] = job.error_message
    return info


@csrf_exempt
@with_faults("salesforce", DataApiAnswers())
def jobs(request: HttpRequest, version: str) -> HttpResponse:
    """POST: Create a Job. GET: Get All Jobs (one page, the newest first)."""
    refused = _refusal(request, version, ("GET", "POST"))
    if refused:
        return refused
    if request.method == "GET":
        records = [job_info(job, detailed=False) for job in bulk.recent_jobs()]
        return data_answer({"done": True, "records": records, "nextRecordsUrl": None})
    try:
        body = json.loads(request.body or b"null")
    except ValueError as exc:
        return data_error(400, "JSON_PARSER_ERROR", f"The request body is not JSON: {exc}")
    try:
        job = bulk.create_job(version[1:], body)
    except bulk.BulkApiError as exc:
        return _error(exc)
    return data_answer(job_info(job, detailed=False))


@csrf_exempt
@with_faults("salesforce", DataApiAnswers())
def job(request: HttpRequest, version: str, job_id: str) -> HttpResponse:
    """GET: Get Job Info (a poll). PATCH: Upload Complete or Abort. DELETE: Delete a Job."""
    refused = _refusal(request, version, ("GET", "PATCH", "DELETE"))
    if refused:
        return refused
    try:
        if request.method == "GET":
            hang = Fault.for_system("salesforce").bulk_poll_hang_seconds
            if hang:
                wait_released(hang)
            return data_answer(job_info(bulk.get_job(job_id), detailed=True))
        if request.method == "DELETE":
            bulk.delete_job(job_id)
            response = HttpResponse(status=204)
            response["Sforce-Limit-Info"] = api_usage()
            return response
        try:
            change = json.loads(request.body or b"null")
        except ValueError as exc:
            return data_error(400, "JSON_PARSER_ERROR", f"The request body is not JSON: {exc}")
        state = change.get("state") if isinstance(change, dict) else None
        return data_answer(job_info(bulk.change_state(job_id, state), detailed=False))
    except bulk.BulkApiError as exc:
        return _error(exc)


@csrf_exempt
@with_faults("salesforce", DataApiAnswers())
def batches(request: HttpRequest, version: str, job_id: str) -> HttpResponse:
    """PUT: Upload Job Data (CSV); 201 and no body."""
    refused = _refusal(request, version, ("PUT",))
    if refused:
        bulk.drain(request)
        return refused
    if Fault.for_system("salesforce").take("bulk_upload_503_next"):
        bulk.drain(request)
        return data_error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, please try again later.")
    try:
        bulk.upload(job_id, request)
    except bulk.BulkApiError as exc:
        bulk.drain(request)
        return _error(exc)
    response = HttpResponse(status=201)
    response["Sforce-Limit-Info"] = api_usage()
    return response


@csrf_exempt
@with_faults("salesforce", DataApiAnswers())
def job_results(request: HttpRequest, version: str, job_id: str, kind: str) -> HttpResponse:
    """GET: successfulResults, failedResults or unprocessedrecords, as CSV."""
    refused = _refusal(request, version, ("GET",))
    if refused:
        return refused
    try:
        text = bulk.results(bulk.get_job(job_id), kind)
    except bulk.BulkApiError as exc:
        return _error(exc)
    response = HttpResponse(text, content_type="text/csv; charset=UTF-8")
    response["Sforce-Limit-Info"] = api_usage()
    return response


@require_GET
def sandbox_jobs(request: HttpRequest) -> JsonResponse:
    """Every job, the newest first, as of now (a job that is due moves on as it is listed)."""
    return JsonResponse([job_summary(job) for job in bulk.recent_jobs()], safe=False)


def job_summary(job: BulkIngestJob) -> dict[str, Any]:
    processed, failed = bulk.progress(job)
    return {
        "id": job.job_id,
        "object": job.object_name,
        "operation": job.operation,
        "externalIdFieldName": job.external_id_field,
        "state": job.state,
        "numberRecordsProcessed": processed,
        "numberRecordsFailed": failed,
        "errorMessage": job.error_message if job.state == BulkIngestJob.FAILED else "",
        "createdDate": when(job.created_date),
    }
