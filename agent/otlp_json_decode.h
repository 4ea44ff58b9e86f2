/*
 * OTLP/JSON decoding into the telemetry model: the inverse of
 * td_otlp_json_encode() (agent/otlp_json.h).
 */
#ifndef TD_OTLP_JSON_DECODE_H
#define TD_OTLP_JSON_DECODE_H

#include <stddef.h>

#include "telemetry.h"

/*
 * Parses an Export{Logs,Trace}ServiceRequest in OTLP/JSON (len bytes
 * of buf, no terminator needed) into a new batch of the given signal.
 * Keys may be lowerCamelCase or the proto's snake_case names, ids are
 * hex, enums are integers or their names, 64-bit integers are decimal
 * strings or JSON numbers, unknown fields are ignored.
 *
 * Policy: a malformed request (not JSON, a list that is not an array,
 * a resource or scope that is not an object) rejects the whole
 * request. A single bad record (log record or span) is skipped and
 * counted in *rejected, so the caller can fill partial_success; err
 * then holds the message of the first one. Messages name the JSON
 * path, e.g. "resourceLogs[0].scopeLogs[1].logRecords[3].traceId:
 * not 32 hex digits", and are fit for a 400 body.
 *
 * Metrics are not decoded yet: TD_METRICS returns TD_EINVAL with a
 * message (docs/OTLP.md).
 *
 * On success returns 0 and *out owns one reference to the batch; on
 * failure returns TD_EINVAL or TD_ENOMEM, *out is NULL and err holds
 * the reason. Uses the calling thread's cJSON hooks
 * (agent/cjson_arena.h); any thread may call it.
 */
int td_otlp_json_decode(td_signal signal, const char *buf, size_t len,
                        td_batch **out, size_t *rejected, char *err,
                        size_t errlen);

#endif
