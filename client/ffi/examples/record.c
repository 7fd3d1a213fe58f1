/* Records values through the C API and uploads them once their epoch is over.
 *
 *   cc -I client/ffi/include client/ffi/examples/record.c -L target/debug -lldp_telemetry
 *   ./a.out DATA_DIR COLLECTOR_URL CAMPAIGN COUNT
 *
 * Exits 0 when every report it recorded was acknowledged by the collector. */
#define _POSIX_C_SOURCE 199309L /* nanosleep */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ldp_telemetry.h"

static void fail(const char *what, LdpStatus status) {
    char message[512];
    ldp_last_error_message(message, sizeof message);
    fprintf(stderr, "%s: status %d: %s\n", what, (int)status, message);
    exit(1);
}

static void pause_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s DATA_DIR COLLECTOR_URL CAMPAIGN COUNT\n", argv[0]);
        return 2;
    }
    const char *campaign = argv[3];
    long count = strtol(argv[4], NULL, 10);

    /* Release each epoch's batch within a second of the epoch's end (the default waits up to a
     * whole epoch). */
    LdpOptions options = ldp_options_default();
    options.has_release_window = true;
    options.release_window_seconds = 1;
    LdpClient *client = NULL;
    LdpStatus status = ldp_client_open_with_options(argv[1], argv[2], &options, &client);
    if (status != LDP_STATUS_OK) fail("open", status);

    /* Errors are values: an index outside the domain is refused, and nothing is written. */
    status = ldp_client_record_index(client, campaign, 1u << 30);
    if (status != LDP_STATUS_INVALID_VALUE) fail("an out-of-range index was not refused", status);
    char message[256];
    ldp_last_error_message(message, sizeof message);
    printf("refused as expected: %s\n", message);

    for (long i = 0; i < count;) {
        status = ldp_client_record_index(client, campaign, (uint32_t)(i % 4));
        if (status == LDP_STATUS_BUDGET_EXHAUSTED) {
            pause_ms(50); /* the epoch's allowance is spent; the next epoch renews it */
            continue;
        }
        if (status != LDP_STATUS_OK) fail("record", status);
        i++;
    }
    /* Recorded values are written by the SDK's thread moments later; make sure now. */
    status = ldp_client_flush(client);
    if (status != LDP_STATUS_OK) fail("flush", status);
    LdpPrivacySpent spent;
    status = ldp_client_privacy_spent(client, campaign, &spent);
    if (status != LDP_STATUS_OK) fail("privacy_spent", status);
    printf("recorded %llu reports, epsilon spent <= %.3f\n",
           (unsigned long long)spent.lifetime_reports, spent.lifetime_epsilon);

    unsigned long long sent = 0;
    for (int attempt = 0; attempt < 300; attempt++) {
        LdpUploadSummary summary;
        status = ldp_client_upload_pending(client, &summary);
        if (status != LDP_STATUS_OK) fail("upload_pending", status);
        sent += summary.reports_sent;
        if (summary.reports_waiting == 0) break;
        pause_ms(200);
    }
    printf("sent %llu reports\n", sent);
    ldp_client_free(client);
    return sent == (unsigned long long)count ? 0 : 1;
}
