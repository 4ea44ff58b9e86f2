/*
 * otlp_json.h - a batch as OTLP/JSON, the protobuf JSON mapping that the
 * OTLP specification fixes: lowerCamelCase keys, trace and span ids as
 * lowercase hex, enums as integers, 64-bit integers as decimal strings,
 * bytes as base64.
 *
 * Used by the file and debug exporters (and later the otlphttp
 * exporter). Any thread; the batch is only read.
 */
#ifndef TD_OTLP_JSON_H
#define TD_OTLP_JSON_H

#include "buf.h"
#include "telemetry.h"

/*
 * Appends one Export{Trace,Metrics,Logs}ServiceRequest object for the
 * whole batch, with no trailing newline. 0 or TD_ENOMEM.
 */
int td_otlp_json_encode(const td_batch *b, td_buf *out);

/*
 * Appends one request object per record (span, metric, log record), each
 * carrying its resource and scope, each followed by a newline.
 * 0 or TD_ENOMEM.
 */
int td_otlp_json_encode_each(const td_batch *b, td_buf *out);

/* Appends a single AnyValue as OTLP/JSON ({"stringValue":...}). */
int td_otlp_json_value(const td_value *v, td_buf *out);

#endif
