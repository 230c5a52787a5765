/* What the libFuzzer harnesses and the ThreadSanitizer driver share: each entry point of
 * drift/native called exactly as its Python wrapper calls it (drift/readers/jsonl.py _read_file
 * and _scan, trainer_state.py _scan, tensorboard.py _read_file and _Native, wandbrun.py _read_native
 * and _Native), with every output
 * checked against the entry point's own contract. A broken check aborts, which libFuzzer reports
 * as a crash. Inputs are copied into buffers of exactly their size, so AddressSanitizer sees any
 * read past what the wrapper hands over. */
#ifndef DRIFT_HARNESS_H
#define DRIFT_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t drift_scan(const char *buf, int64_t len, int64_t start, int64_t line0, const char *step_key,
                   int64_t step_len, const char *metric, int64_t metric_len, const char *filter_key,
                   int64_t filter_key_len, const char *filter_value, int64_t filter_value_len, int64_t *steps,
                   double *values, int64_t *point_lines, int64_t point_cap, int64_t *deferred,
                   int64_t deferred_cap, int64_t *res);
int drift_jsondoc_scan(const char *buf, int64_t len, const char *metric, int64_t metric_len, int64_t *steps,
                       double *values, int64_t *entries, int64_t capacity, int64_t *deferred,
                       int64_t deferred_capacity, char *keys, int64_t keys_capacity, int64_t *counts);
int64_t drift_tfevents_scan(const uint8_t *buf, int64_t start, int64_t size, int64_t avail, int64_t record_base,
                            int64_t *res, int64_t *recs, int64_t *steps, double *values, int32_t *tag_ids,
                            int64_t cap, int64_t *tag_start, int64_t *tag_len, int64_t tag_cap, int32_t *slots,
                            int64_t n_slots);
int64_t drift_wandb_scan(const uint8_t *buf, int64_t start, int64_t size, int64_t offset, int64_t last,
                         const uint8_t *wanted, int64_t wanted_len, int64_t *state, int64_t *res, int64_t *recs,
                         int64_t *steps, double *values, int32_t *key_ids, int64_t cap, uint8_t *key_bytes,
                         int64_t key_bytes_cap, int64_t *key_start, int64_t *key_len, uint8_t *key_wanted,
                         int64_t key_cap, int32_t *slots, int64_t n_slots, uint8_t *scratch, int64_t scratch_cap);

#include "check.h"

static inline void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    CHECK(p != NULL);
    return p;
}

static inline uint64_t mix(uint64_t h, uint64_t x) { return (h ^ x) * 0x100000001B3ull + 0x9E3779B97F4A7C15ull; }

static inline uint64_t bits_of(double x) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

/* ---- JSON lines: drift_scan ------------------------------------------------------------------ */

typedef struct {
    const char *step, *metric, *filter_key, *filter_value;
} spec_t;

/* What a whole file came to; equal however the file is cut into chunks and calls (the hash is a
 * sum, so the order in which calls hand back points and deferred lines does not count). */
typedef struct {
    int64_t lines, points, deferred, ignored, broken, first_ignored, first_broken;
    uint64_t hash;
    int python_chunks; /* chunks holding a CR: the wrapper reads those in Python */
} jsonl_totals_t;

enum { R_CONSUMED, R_LINES, R_POINTS, R_DEFERRED, R_IGNORED, R_FIRST_IGNORED, R_IGNORED_START, R_IGNORED_END,
       R_BROKEN, R_FIRST_BROKEN, R_BROKEN_START, R_BROKEN_END, R_SIZE };

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* jsonl.py _scan on one chunk: calls until the chunk is walked. file_offset and line_base place
 * the chunk in the file. point_cap and deferred_cap 0: the wrapper's own sizes. */
static inline void jsonl_chunk(const char *chunk, int64_t size, const spec_t *spec, int64_t point_cap,
                        int64_t deferred_cap, int64_t file_offset, jsonl_totals_t *t) {
    char *buf = xmalloc((size_t)size);
    memcpy(buf, chunk, (size_t)size);
    int64_t points = point_cap ? point_cap : min64(1 << 16, size / 8 + 1);
    int64_t rows = deferred_cap ? deferred_cap : min64(1 << 12, size / 2 + 1);
    int64_t *steps = xmalloc(sizeof(int64_t) * (size_t)points), *at = xmalloc(sizeof(int64_t) * (size_t)points);
    double *values = xmalloc(sizeof(double) * (size_t)points);
    int64_t *deferred = xmalloc(sizeof(int64_t) * 3 * (size_t)rows);
    int64_t res[R_SIZE], start = 0, lines = 0, line_base = t->lines;
    size_t fk = strlen(spec->filter_key);
    for (;;) {
        int64_t stop = drift_scan(buf, size, start, lines, spec->step, (int64_t)strlen(spec->step), spec->metric,
                                  (int64_t)strlen(spec->metric), fk ? spec->filter_key : NULL, (int64_t)fk,
                                  spec->filter_value, (int64_t)strlen(spec->filter_value), steps, values, at,
                                  points, deferred, rows, res);
        CHECK(stop == 0 || stop == 1);
        CHECK(res[R_CONSUMED] >= start && res[R_CONSUMED] <= size);
        CHECK(stop == 0 ? res[R_CONSUMED] == size : res[R_CONSUMED] > start || start == size);
        CHECK(res[R_POINTS] >= 0 && res[R_POINTS] <= points);
        CHECK(res[R_DEFERRED] >= 0 && res[R_DEFERRED] <= rows);
        CHECK(res[R_LINES] >= res[R_POINTS] + res[R_DEFERRED] + res[R_IGNORED] + res[R_BROKEN]);
        if (stop == 1) CHECK(res[R_POINTS] == points || res[R_DEFERRED] == rows);
        for (int64_t i = 0; i < res[R_POINTS]; i++) {
            CHECK(at[i] >= lines && at[i] < lines + res[R_LINES] && (i == 0 || at[i] > at[i - 1]));
            t->hash += mix(mix(mix(1, (uint64_t)(line_base + at[i])), (uint64_t)steps[i]), bits_of(values[i]));
        }
        for (int64_t i = 0; i < res[R_DEFERRED]; i++) {
            int64_t *d = deferred + 3 * i;
            CHECK(d[0] >= lines && d[0] < lines + res[R_LINES]);
            CHECK(d[1] >= start && d[1] < d[2] && d[2] <= res[R_CONSUMED] && d[2] <= size);
            CHECK(d[2] == size || buf[d[2]] == '\n');
            CHECK(memchr(buf + d[1], '\n', (size_t)(d[2] - d[1])) == NULL);
            t->hash += mix(mix(mix(2, (uint64_t)(line_base + d[0])), (uint64_t)(file_offset + d[1])),
                           (uint64_t)(file_offset + d[2]));
        }
        for (int f = R_FIRST_IGNORED; f <= R_FIRST_BROKEN; f += R_FIRST_BROKEN - R_FIRST_IGNORED) {
            int64_t count = res[f - 1];
            if (!count) {
                CHECK(res[f] == -1);
                continue;
            }
            CHECK(res[f] >= lines && res[f] < lines + res[R_LINES]);
            CHECK(res[f + 1] >= start && res[f + 1] < res[f + 2] && res[f + 2] <= size);
            int64_t *first = f == R_FIRST_IGNORED ? &t->first_ignored : &t->first_broken;
            if (*first < 0) *first = line_base + res[f];
        }
        t->points += res[R_POINTS];
        t->deferred += res[R_DEFERRED];
        t->ignored += res[R_IGNORED];
        t->broken += res[R_BROKEN];
        lines += res[R_LINES];
        start = res[R_CONSUMED];
        if (stop == 0) break;
    }
    t->lines += lines;
    free(buf), free(steps), free(at), free(values), free(deferred);
}

/* jsonl.py _read_file: chunks of `chunk` bytes cut after their last newline (a line longer than a
 * chunk is read on until it ends), a chunk holding a CR left to Python. */
static inline void jsonl_file(const uint8_t *data, size_t len, const spec_t *spec, int64_t chunk, int64_t point_cap,
                       int64_t deferred_cap, jsonl_totals_t *t) {
    memset(t, 0, sizeof *t);
    t->first_ignored = t->first_broken = -1;
    size_t pos = 0;
    while (pos < len) {
        /* The wrapper reads a chunk and cuts it after its last newline; with none it reads on. */
        size_t searched = 0, filled = 0, size = 0;
        for (;;) {
            filled += (size_t)chunk;
            if (filled >= len - pos) {
                size = len - pos;
                break;
            }
            const void *cut = NULL;
            for (size_t i = filled; i > searched && !cut; i--)
                if (data[pos + i - 1] == '\n') cut = data + pos + i - 1;
            if (cut) {
                size = (size_t)((const uint8_t *)cut - (data + pos)) + 1;
                break;
            }
            searched = filled;
        }
        if (memchr(data + pos, '\r', size)) {
            t->python_chunks++;
        } else {
            jsonl_chunk((const char *)data + pos, (int64_t)size, spec, point_cap, deferred_cap, (int64_t)pos, t);
        }
        pos += size;
    }
}

static const spec_t SPECS[] = {
    {"step", "loss", "type", "step"}, /* dlm */
    {"step", "loss", "", ""},         /* jsonl without a filter */
    {"lr", "x", "x", "null"},         /* odd keys, a filter on a literal */
};

/* ---- trainer_state.json: drift_jsondoc_scan --------------------------------------------------- */

enum { C_POINTS, C_DEFERRED, C_IGNORED, C_HAS_GLOBAL_STEP, C_GLOBAL_STEP, C_KEY_BYTES, C_COUNTS };
#define MAX_DEFERRED (1 << 16)
#define KEY_BUFFER (1 << 16)

/* trainer_state.py _scan, then its second pass collecting key names when no entry is a point. */
static inline void jsondoc_file(const uint8_t *data, size_t len, const char *metric) {
    char *buf = xmalloc(len);
    if (len) memcpy(buf, data, len);
    int64_t metric_len = (int64_t)strlen(metric);
    int64_t shortest = strcmp(metric, "step") == 0 ? 11 : 16 + metric_len;
    int64_t capacity = (int64_t)len / shortest + 1;
    for (int collect = 0; collect <= 1; collect++) {
        int64_t *steps = xmalloc(sizeof(int64_t) * (size_t)capacity), *entries = xmalloc(sizeof(int64_t) * (size_t)capacity);
        double *values = xmalloc(sizeof(double) * (size_t)capacity);
        int64_t *deferred = xmalloc(sizeof(int64_t) * 3 * MAX_DEFERRED), counts[C_COUNTS];
        char *keys = collect ? xmalloc(KEY_BUFFER) : NULL;
        int status = drift_jsondoc_scan(buf, (int64_t)len, metric, metric_len, steps, values, entries, capacity,
                                        deferred, MAX_DEFERRED, keys, collect ? KEY_BUFFER : 0, counts);
        CHECK(status == 0 || status == 1);
        CHECK(counts[C_POINTS] >= 0 && counts[C_POINTS] <= capacity);
        CHECK(counts[C_DEFERRED] >= 0 && counts[C_DEFERRED] <= MAX_DEFERRED);
        CHECK(counts[C_KEY_BYTES] >= 0 && counts[C_KEY_BYTES] <= (collect ? KEY_BUFFER : 0));
        int points = 0;
        if (status == 0) {
            for (int64_t i = 0; i < counts[C_POINTS]; i++) CHECK(i == 0 || entries[i] > entries[i - 1]);
            for (int64_t i = 0; i < counts[C_DEFERRED]; i++) {
                int64_t *d = deferred + 3 * i;
                CHECK(d[0] >= 0 && d[1] >= 0 && d[1] < d[2] && d[2] <= (int64_t)len);
                CHECK(buf[d[1]] == '{' && buf[d[2] - 1] == '}');
            }
            if (collect && counts[C_KEY_BYTES]) CHECK(keys[counts[C_KEY_BYTES] - 1] == '\0');
            points = counts[C_POINTS] > 0;
        }
        free(steps), free(entries), free(values), free(deferred), free(keys);
        if (status != 0 || points) break; /* the wrapper collects names only for a run without points */
    }
    free(buf);
}

/* ---- TensorBoard event files: drift_tfevents_scan ------------------------------------------- */

enum { STOP_MORE = 0, STOP_END = 1, STOP_FULL = 2, STOP_LENGTH = 3, STOP_TRUNCATED = 4 };
enum { T_CONSUMED, T_RECORDS, T_VALUES, T_TAGS, T_NEED, T_DAMAGED, T_FIRST_DAMAGED, T_FIRST_KIND, T_SIZE };

typedef struct {
    int64_t records, values, damaged, stop;
    uint64_t hash;
} tf_totals_t;

typedef struct {
    int64_t cap, tag_cap, n_slots;
    int64_t *recs, *steps, *tag_start, *tag_len;
    double *values;
    int32_t *tag_ids, *slots;
} tf_arrays_t;

static inline void tf_size(tf_arrays_t *a, int64_t cap, int64_t tag_cap) {
    free(a->recs), free(a->steps), free(a->tag_start), free(a->tag_len), free(a->values), free(a->tag_ids), free(a->slots);
    a->cap = cap;
    a->tag_cap = tag_cap;
    a->n_slots = 1;
    while (a->n_slots <= 2 * tag_cap - 1) a->n_slots <<= 1; /* tensorboard.py: 1 << (2 * tag_cap - 1).bit_length() */
    a->recs = xmalloc(sizeof(int64_t) * (size_t)cap);
    a->steps = xmalloc(sizeof(int64_t) * (size_t)cap);
    a->values = xmalloc(sizeof(double) * (size_t)cap);
    a->tag_ids = xmalloc(sizeof(int32_t) * (size_t)cap);
    a->tag_start = xmalloc(sizeof(int64_t) * (size_t)tag_cap);
    a->tag_len = xmalloc(sizeof(int64_t) * (size_t)tag_cap);
    a->slots = xmalloc(sizeof(int32_t) * (size_t)a->n_slots);
}

/* tensorboard.py _Native.__call__: one call, again with bigger arrays while a single record
 * does not fit them. */
static inline int64_t tf_call(tf_arrays_t *a, const uint8_t *buffer, int64_t start, int64_t size, int64_t avail,
                       int64_t record_base, int64_t *res, tf_totals_t *t) {
    uint8_t *buf = xmalloc((size_t)size);
    if (size) memcpy(buf, buffer, (size_t)size);
    int64_t stop;
    for (;;) {
        stop = drift_tfevents_scan(buf, start, size, avail, record_base, res, a->recs, a->steps, a->values,
                                   a->tag_ids, a->cap, a->tag_start, a->tag_len, a->tag_cap, a->slots, a->n_slots);
        CHECK(stop >= STOP_MORE && stop <= STOP_TRUNCATED);
        if (stop != STOP_FULL || res[T_RECORDS]) break;
        CHECK(a->cap < (1 << 24)); /* a record of a fuzz input cannot hold this many scalars */
        tf_size(a, 2 * a->cap, 2 * a->tag_cap);
    }
    CHECK(res[T_CONSUMED] >= start && res[T_CONSUMED] <= size);
    CHECK(res[T_VALUES] >= 0 && res[T_VALUES] <= a->cap && res[T_TAGS] >= 0 && res[T_TAGS] <= a->tag_cap);
    CHECK(res[T_DAMAGED] >= 0 && res[T_DAMAGED] <= res[T_RECORDS]);
    if (stop == STOP_MORE) CHECK(res[T_NEED] > size - res[T_CONSUMED] && res[T_NEED] <= avail - res[T_CONSUMED]);
    for (int64_t i = 0; i < res[T_TAGS]; i++)
        CHECK(a->tag_start[i] >= start && a->tag_len[i] >= 0 && a->tag_start[i] + a->tag_len[i] <= size);
    for (int64_t i = 0; i < res[T_VALUES]; i++) {
        int32_t id = a->tag_ids[i];
        CHECK(id >= 0 && id < res[T_TAGS]);
        CHECK(a->recs[i] > record_base && a->recs[i] <= record_base + res[T_RECORDS]);
        uint64_t h = mix(mix(mix(t->hash, (uint64_t)a->recs[i]), (uint64_t)a->steps[i]), bits_of(a->values[i]));
        for (int64_t k = 0; k < a->tag_len[id]; k++) h = mix(h, buf[a->tag_start[id] + k]);
        t->hash = h;
    }
    t->records += res[T_RECORDS];
    t->values += res[T_VALUES];
    t->damaged += res[T_DAMAGED];
    free(buf);
    return stop;
}

/* tensorboard.py _read_file over a file of len bytes, read `chunk` bytes at a time. */
static inline void tf_file(const uint8_t *data, int64_t len, int64_t chunk, int64_t cap, int64_t tag_cap, tf_totals_t *t) {
    memset(t, 0, sizeof *t);
    tf_arrays_t a = {0};
    tf_size(&a, cap, tag_cap);
    uint8_t *buffer = NULL;
    int64_t buffer_len = 0, held = 0, need = 0, record_base = 0, unread = len, pos = 0, res[T_SIZE], stop;
    for (;;) {
        int64_t target = min64(held + unread, need > chunk ? need : chunk);
        if (buffer_len < target) {
            uint8_t *grown = xmalloc((size_t)target);
            if (held) memcpy(grown, buffer, (size_t)held);
            free(buffer);
            buffer = grown;
            buffer_len = target;
        }
        int64_t got = target - held;
        if (got) memcpy(buffer + held, data + pos, (size_t)got);
        pos += got;
        unread -= got;
        int64_t size = held + got, start = 0;
        for (;;) {
            stop = tf_call(&a, buffer, start, size, size + unread, record_base, res, t);
            record_base += res[T_RECORDS];
            start = res[T_CONSUMED];
            if (stop != STOP_FULL) break;
        }
        if (stop != STOP_MORE) break;
        need = res[T_NEED];
        held = size - start;
        memmove(buffer, buffer + start, (size_t)held);
    }
    t->stop = stop;
    free(buffer);
    free(a.recs), free(a.steps), free(a.tag_start), free(a.tag_len), free(a.values), free(a.tag_ids), free(a.slots);
}

/* ---- W&B run files: drift_wandb_scan ---------------------------------------------------------- */

enum { W_STOP_MORE = 0, W_STOP_END = 1, W_STOP_FULL = 2, W_STOP_DEFER = 3 };
enum { W_FULL_VALUES = 1, W_FULL_KEYS = 2, W_FULL_KEY_BYTES = 4, W_FULL_SCRATCH = 8 };
enum { W_CONSUMED, W_VALUES, W_KEYS, W_DAMAGED, W_FIRST_DAMAGED, W_FULL, W_NEED, W_DEFER_IN_SCRATCH, W_DEFER_START,
       W_DEFER_LEN, W_DEFER_NUMBER, W_SIZE };
#define W_BLOCK 32768
#define W_MAGIC_LEN 7

/* wandbrun.py's _Run.folded for the metric "loss", the ASCII names, sorted. */
static const char W_WANTED[] = "loss\0loss/train\0loss_epoch\0loss_step\0total_loss\0train/loss\0train/loss_epoch\0"
                               "train/loss_step\0train/total_loss\0train_loss\0train_loss_epoch\0train_loss_step\0"
                               "training/loss\0";

typedef struct {
    int64_t records, values, keys, damaged, first_damaged, defers;
    uint64_t hash;
} w_totals_t;

typedef struct {
    int64_t cap, key_cap, key_bytes_cap, n_slots, scratch_cap;
    int64_t *recs, *steps, *key_start, *key_len;
    double *values;
    int32_t *key_ids, *slots;
    uint8_t *key_bytes, *key_wanted, *scratch;
} w_arrays_t;

static inline void w_free(w_arrays_t *a) {
    free(a->recs), free(a->steps), free(a->key_start), free(a->key_len), free(a->values), free(a->key_ids);
    free(a->slots), free(a->key_bytes), free(a->key_wanted);
}

static inline void w_size(w_arrays_t *a, int64_t cap, int64_t key_cap, int64_t key_bytes_cap) {
    w_free(a);
    a->cap = cap, a->key_cap = key_cap, a->key_bytes_cap = key_bytes_cap;
    a->n_slots = 1;
    while (a->n_slots <= 2 * key_cap - 1) a->n_slots <<= 1;
    a->recs = xmalloc(sizeof(int64_t) * (size_t)cap);
    a->steps = xmalloc(sizeof(int64_t) * (size_t)cap);
    a->values = xmalloc(sizeof(double) * (size_t)cap);
    a->key_ids = xmalloc(sizeof(int32_t) * (size_t)cap);
    a->key_bytes = xmalloc((size_t)key_bytes_cap);
    a->key_start = xmalloc(sizeof(int64_t) * (size_t)key_cap);
    a->key_len = xmalloc(sizeof(int64_t) * (size_t)key_cap);
    a->key_wanted = xmalloc((size_t)key_cap);
    a->slots = xmalloc(sizeof(int32_t) * (size_t)a->n_slots);
}

/* Checks one call's output against the contract and folds it into the totals. */
static inline void w_take(const w_arrays_t *a, const int64_t *res, int64_t stop, int64_t start, int64_t size,
                          int64_t records_before, const int64_t *state, const uint8_t *buf, w_totals_t *t) {
    CHECK(stop >= W_STOP_MORE && stop <= W_STOP_DEFER);
    CHECK(res[W_CONSUMED] >= start && res[W_CONSUMED] <= size);
    CHECK(stop != W_STOP_MORE && stop != W_STOP_END ? 1 : res[W_CONSUMED] == size);
    CHECK(res[W_VALUES] >= 0 && res[W_VALUES] <= a->cap && res[W_KEYS] >= 0 && res[W_KEYS] <= a->key_cap);
    CHECK(state[0] >= records_before && state[1] >= -1 && state[1] <= a->scratch_cap);
    CHECK(res[W_DAMAGED] >= 0 && (res[W_DAMAGED] == 0) == (res[W_FIRST_DAMAGED] == 0));
    CHECK(res[W_DAMAGED] == 0 || (res[W_FIRST_DAMAGED] > records_before && res[W_FIRST_DAMAGED] <= state[0] + 1));
    if (stop == W_STOP_FULL) CHECK(res[W_FULL] != 0);
    int64_t used = 0;
    for (int64_t i = 0; i < res[W_KEYS]; i++) {
        CHECK(a->key_start[i] == used && a->key_len[i] >= 0 && a->key_start[i] + a->key_len[i] <= a->key_bytes_cap);
        CHECK(a->key_wanted[i] <= 1);
        used += a->key_len[i];
    }
    for (int64_t i = 0; i < res[W_VALUES]; i++) {
        int32_t id = a->key_ids[i];
        int64_t number = a->recs[i] < 0 ? -a->recs[i] : a->recs[i];
        CHECK(id >= 0 && id < res[W_KEYS] && a->key_wanted[id]);
        CHECK(number > records_before && number <= state[0]);
        uint64_t h = mix(mix(mix(t->hash, (uint64_t)a->recs[i]), (uint64_t)(a->recs[i] > 0 ? a->steps[i] : 0)),
                         bits_of(a->values[i]));
        for (int64_t k = 0; k < a->key_len[id]; k++) h = mix(h, a->key_bytes[a->key_start[id] + k]);
        t->hash = h;
    }
    if (stop == W_STOP_DEFER) {
        const uint8_t *from = res[W_DEFER_IN_SCRATCH] ? a->scratch : buf;
        int64_t limit = res[W_DEFER_IN_SCRATCH] ? a->scratch_cap : size;
        CHECK(res[W_DEFER_START] >= 0 && res[W_DEFER_LEN] >= 0 && res[W_DEFER_START] + res[W_DEFER_LEN] <= limit);
        CHECK(res[W_DEFER_NUMBER] == state[0] && state[1] == -1);
        uint64_t h = mix(t->hash, (uint64_t)res[W_DEFER_NUMBER]);
        for (int64_t k = 0; k < res[W_DEFER_LEN]; k++) h = mix(h, from[res[W_DEFER_START] + k]);
        t->hash = h;
        t->defers++;
    }
    t->values += res[W_VALUES];
    t->keys += res[W_KEYS];
    t->damaged += res[W_DAMAGED];
    if (!t->first_damaged) t->first_damaged = res[W_FIRST_DAMAGED];
}

/* wandbrun.py _Native.walk over one piece: calls until it is walked, growing what a single record
 * fills, as the wrapper grows it. */
static inline void w_piece(w_arrays_t *a, const uint8_t *piece, int64_t size, int64_t offset, int last, int64_t start,
                           int64_t *state, w_totals_t *t) {
    uint8_t *buf = xmalloc((size_t)size);
    if (size) memcpy(buf, piece, (size_t)size);
    int64_t res[W_SIZE];
    for (;;) {
        int64_t before = state[0];
        int64_t stop = drift_wandb_scan(buf, start, size, offset, last, (const uint8_t *)W_WANTED, sizeof W_WANTED - 1,
                                        state, res, a->recs, a->steps, a->values, a->key_ids, a->cap, a->key_bytes,
                                        a->key_bytes_cap, a->key_start, a->key_len, a->key_wanted, a->key_cap, a->slots,
                                        a->n_slots, a->scratch, a->scratch_cap);
        w_take(a, res, stop, start, size, before, state, buf, t);
        if (stop == W_STOP_FULL && res[W_CONSUMED] == start) {
            CHECK(a->cap < (1 << 24) && a->key_cap < (1 << 24) && a->key_bytes_cap < (1 << 26));
            if (res[W_FULL] & W_FULL_SCRATCH) {
                CHECK(res[W_NEED] > a->scratch_cap && res[W_NEED] <= (64 << 20));
                int64_t grown = 2 * a->scratch_cap > res[W_NEED] ? 2 * a->scratch_cap : res[W_NEED];
                uint8_t *scratch = xmalloc((size_t)grown);
                if (state[1] > 0) memcpy(scratch, a->scratch, (size_t)state[1]);
                free(a->scratch);
                a->scratch = scratch;
                a->scratch_cap = grown;
            }
            if (res[W_FULL] & (W_FULL_VALUES | W_FULL_KEYS | W_FULL_KEY_BYTES))
                w_size(a, res[W_FULL] & W_FULL_VALUES ? 2 * a->cap : a->cap,
                       res[W_FULL] & W_FULL_KEYS ? 2 * a->key_cap : a->key_cap,
                       res[W_FULL] & W_FULL_KEY_BYTES ? 2 * a->key_bytes_cap : a->key_bytes_cap);
        } else if (stop != W_STOP_FULL && stop != W_STOP_DEFER) {
            break;
        }
        start = res[W_CONSUMED];
    }
    free(buf);
}

/* wandbrun.py _read_native: pieces of `blocks` whole blocks from offset 0, the magic checked first. */
static inline void w_file(const uint8_t *data, int64_t len, int64_t blocks, int64_t cap, int64_t key_cap,
                          int64_t key_bytes_cap, w_totals_t *t) {
    memset(t, 0, sizeof *t);
    if (len < W_MAGIC_LEN || memcmp(data, ":W&B\xe1\xbe\x00", W_MAGIC_LEN) != 0) return;
    w_arrays_t a = {0};
    w_size(&a, cap, key_cap, key_bytes_cap);
    a.scratch_cap = W_BLOCK;
    a.scratch = xmalloc(W_BLOCK);
    int64_t piece = blocks * W_BLOCK, offset = 0, start = W_MAGIC_LEN, state[2] = {0, -1};
    for (;;) {
        int64_t got = len - offset < piece ? len - offset : piece;
        int last = offset + got >= len;
        w_piece(&a, data + offset, got, offset, last, start, state, t);
        if (last) break;
        offset += got;
        start = 0;
    }
    t->records = state[0];
    w_free(&a);
    free(a.scratch);
}

#endif
