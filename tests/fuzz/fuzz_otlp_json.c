/*
 * fuzz_otlp_json.c - the OTLP/JSON decoder. The first byte picks the
 * signal; the rest is the request. A batch that decodes must encode to
 * JSON that cJSON parses again.
 */
#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "otlp_json.h"
#include "otlp_json_decode.h"
#include "telemetry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const td_signal signals[] = {
        TD_SIGNAL_LOGS, TD_SIGNAL_TRACES, TD_SIGNAL_METRICS
    };
    td_buf out = TD_BUF_INIT;
    td_batch *b = NULL;
    size_t rejected = 0;
    char err[256];
    cJSON *doc;

    if (size < 1) {
        return 0;
    }
    if (td_otlp_json_decode(signals[data[0] % 3], (const char *) data + 1,
                            size - 1, &b, &rejected, err,
                            sizeof(err)) != 0) {
        return 0;
    }
    if (td_otlp_json_encode(b, &out) != 0) {
        abort();
    }
    doc = cJSON_ParseWithLength(out.data, out.len);
    if (doc == NULL) {
        abort();
    }
    cJSON_Delete(doc);
    td_buf_free(&out);
    td_batch_unref(b);
    return 0;
}
