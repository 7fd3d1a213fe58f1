#ifndef LDP_TELEMETRY_H
#define LDP_TELEMETRY_H

/* Generated from src/c_api.rs by cbindgen; regenerate with: UPDATE_HEADER=1 cargo test -p ldp-ffi --test header */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/**
 * What a call did. `LDP_STATUS_OK` is 0; every other value is an error.
 */
enum LdpStatus
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Success.
   */
  LDP_STATUS_OK = 0,
  /**
   * The collector does not know the campaign.
   */
  LDP_STATUS_UNKNOWN_CAMPAIGN = 1,
  /**
   * The value is not in the campaign's domain.
   */
  LDP_STATUS_INVALID_VALUE = 2,
  /**
   * A number outside the campaign's range, or not finite.
   */
  LDP_STATUS_NUMBER_OUT_OF_RANGE = 3,
  /**
   * The campaign's allowance for this epoch is spent, or the report would take the
   * device's lifetime ε past the campaign's bound.
   */
  LDP_STATUS_BUDGET_EXHAUSTED = 4,
  /**
   * The state directory could not be read or written.
   */
  LDP_STATUS_STORAGE = 5,
  /**
   * The collector could not be reached or answered with an error.
   */
  LDP_STATUS_NETWORK = 6,
  /**
   * The collector's campaign configuration is unusable.
   */
  LDP_STATUS_CONFIG = 7,
  /**
   * A null pointer, a string that is not UTF-8, or an unusable argument.
   */
  LDP_STATUS_INVALID_ARGUMENT = 8,
  /**
   * The operating system's randomness failed.
   */
  LDP_STATUS_RANDOMNESS = 9,
  /**
   * A bug in the library (a caught panic).
   */
  LDP_STATUS_PANIC = 10,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum LdpStatus LdpStatus;
#else
typedef int32_t LdpStatus;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * A client handle: from `ldp_client_open`, released with `ldp_client_free`.
 */
typedef struct LdpClient LdpClient;

/**
 * Options for `ldp_client_open_with_options`; start from `ldp_options_default()`.
 */
typedef struct LdpOptions {
  /**
   * Whether `release_window_seconds` is set (otherwise one epoch).
   */
  bool has_release_window;
  /**
   * Window after an epoch's end over which its batch is released.
   */
  uint64_t release_window_seconds;
  /**
   * Most batches kept in the outbox.
   */
  uint64_t max_outbox_batches;
  /**
   * Most report bytes kept in the outbox.
   */
  uint64_t max_outbox_bytes;
} LdpOptions;

/**
 * What `ldp_client_upload_pending` did, and what is left.
 */
typedef struct LdpUploadSummary {
  /**
   * Batches acknowledged by the collector.
   */
  uint64_t batches_sent;
  /**
   * Reports in them.
   */
  uint64_t reports_sent;
  /**
   * Batches refused for good and dropped.
   */
  uint64_t batches_rejected;
  /**
   * Batches still waiting.
   */
  uint64_t batches_waiting;
  /**
   * Reports in them.
   */
  uint64_t reports_waiting;
  /**
   * Whether `next_due` is set.
   */
  bool has_next_due;
  /**
   * Unix time at which the next batch is due.
   */
  uint64_t next_due;
} LdpUploadSummary;

/**
 * Privacy spent by this device on one campaign.
 */
typedef struct LdpPrivacySpent {
  /**
   * Reports over the device's lifetime.
   */
  uint64_t lifetime_reports;
  /**
   * Upper bound on the ε spent over the device's lifetime.
   */
  double lifetime_epsilon;
  /**
   * Epochs with a charge.
   */
  uint64_t epochs;
  /**
   * The latest such epoch (0 when there is none).
   */
  uint64_t last_epoch;
  /**
   * Reports charged in it.
   */
  uint32_t last_epoch_reports;
  /**
   * Upper bound on the ε spent in it.
   */
  double last_epoch_epsilon;
} LdpPrivacySpent;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * The default options.
 */
struct LdpOptions ldp_options_default(void);

/**
 * Opens (creating) the client whose state lives in `data_dir`, for the collector at
 * `collector_url`; writes the handle to `*out`.
 *
 * # Safety
 * The strings are NUL-terminated; `out` is a valid pointer to write to.
 */
LdpStatus ldp_client_open(const char *data_dir, const char *collector_url, struct LdpClient **out);

/**
 * [`ldp_client_open`] with options. `*out` is NULL unless the open succeeds.
 *
 * # Safety
 * As [`ldp_client_open`]; `options` points to an `LdpOptions`.
 */
LdpStatus ldp_client_open_with_options(const char *data_dir,
                                       const char *collector_url,
                                       const struct LdpOptions *options,
                                       struct LdpClient **out);

/**
 * Releases a client (null is ignored).
 *
 * # Safety
 * `client` is null or a handle from `ldp_client_open`, not used afterwards.
 */
void ldp_client_free(struct LdpClient *client);

/**
 * Records a string value for `campaign` in the current epoch.
 *
 * # Safety
 * `client` is a live handle; the strings are NUL-terminated.
 */
LdpStatus ldp_client_record(const struct LdpClient *client,
                            const char *campaign,
                            const char *value);

/**
 * Records a value by its index in the campaign's domain.
 *
 * # Safety
 * `client` is a live handle; `campaign` is NUL-terminated.
 */
LdpStatus ldp_client_record_index(const struct LdpClient *client,
                                  const char *campaign,
                                  uint32_t index);

/**
 * Records a number for a numeric campaign.
 *
 * # Safety
 * `client` is a live handle; `campaign` is NUL-terminated.
 */
LdpStatus ldp_client_record_number(const struct LdpClient *client, const char *campaign, double x);

/**
 * Sends every batch that is due; writes what happened to `*out` (may be null).
 *
 * # Safety
 * `client` is a live handle; `out` is null or writable.
 */
LdpStatus ldp_client_upload_pending(const struct LdpClient *client, struct LdpUploadSummary *out);

/**
 * Writes every recorded value to the state file now (call it when the app goes to the
 * background; the SDK's thread does it moments after each record anyway).
 *
 * # Safety
 * `client` is a live handle.
 */
LdpStatus ldp_client_flush(const struct LdpClient *client);

/**
 * Turns uploads on or off (off deletes the outbox; spent budget stays spent).
 *
 * # Safety
 * `client` is a live handle.
 */
LdpStatus ldp_client_set_upload_enabled(const struct LdpClient *client, bool enabled);

/**
 * Writes what this device has spent on `campaign` to `*out`.
 *
 * # Safety
 * `client` is a live handle; `campaign` is NUL-terminated; `out` is writable.
 */
LdpStatus ldp_client_privacy_spent(const struct LdpClient *client,
                                   const char *campaign,
                                   struct LdpPrivacySpent *out);

/**
 * Copies the calling thread's last error message (empty after a success) into `buf` as a
 * NUL-terminated string, truncated to `capacity` bytes; returns the message's full length.
 *
 * # Safety
 * `buf` is null (to ask for the length) or writable for `capacity` bytes.
 */
size_t ldp_last_error_message(char *buf, size_t capacity);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* LDP_TELEMETRY_H */
