/* ThreadSanitizer driver: jsonl.py scans a file's chunks on a pool of two threads while the main
 * thread reads ahead, and every reader of a run may share the process with other reads. Two
 * threads here call every entry point at once over the seed files named on the command line,
 * as the wrappers call them (same key strings, separate buffers), and must agree with one
 * thread's result. TSan reports any data race (the library keeps no shared mutable state: the
 * CRC tables and key tables live on each call's stack or heap). */
#define _GNU_SOURCE /* pthread_barrier_t */
#include <pthread.h>
#include <sys/stat.h>

#include "harness.h"

typedef struct {
    const uint8_t *data;
    size_t len;
    int kind; /* 0 JSON lines, 1 trainer_state.json, 2 event file, 3 W&B run file */
    uint64_t result;
} job_t;

static uint64_t run(const job_t *job) {
    uint64_t h = 0;
    if (job->kind == 0) {
        for (size_t s = 0; s < sizeof SPECS / sizeof SPECS[0]; s++) {
            jsonl_totals_t t;
            jsonl_file(job->data, job->len, &SPECS[s], 4096, 0, 0, &t);
            h = mix(mix(mix(h, t.hash), (uint64_t)t.lines), (uint64_t)t.points);
        }
    } else if (job->kind == 1) {
        jsondoc_file(job->data, job->len, "loss");
    } else if (job->kind == 3) {
        w_totals_t t;
        w_file(job->data, (int64_t)job->len, 256, 1 << 17, 1 << 8, 1 << 14, &t);
        h = mix(mix(t.hash, (uint64_t)t.records), (uint64_t)t.values);
    } else {
        tf_totals_t t;
        tf_file(job->data, (int64_t)job->len, 4096, 1 << 17, 1 << 10, &t);
        h = mix(mix(t.hash, (uint64_t)t.records), (uint64_t)t.values);
    }
    return h;
}

#ifdef TSAN_CONTROL
/* The negative control: both threads write this before they meet at the barrier, unordered, so
 * TSan must report it (right away, while both threads' recent history is still at hand). */
static uint64_t shared_count;
static pthread_barrier_t both_started;
#endif

static void *worker(void *arg) {
    job_t *job = arg;
#ifdef TSAN_CONTROL
    shared_count++;
    pthread_barrier_wait(&both_started);
#endif
    job->result = run(job);
    return NULL;
}

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    struct stat st;
    CHECK(fstat(fileno(f), &st) == 0);
    uint8_t *data = xmalloc((size_t)st.st_size);
    *len = fread(data, 1, (size_t)st.st_size, f);
    fclose(f);
    return data;
}

int main(int argc, char **argv) {
    /* argv: KIND FILE [KIND FILE ...], KIND one of jsonl, jsondoc, tfevents, wandb */
    int n = 0;
#ifdef TSAN_CONTROL
    CHECK(pthread_barrier_init(&both_started, NULL, 2) == 0);
#endif
    for (int i = 1; i + 1 < argc; i += 2) {
        job_t a = {0}, b;
        a.kind = strcmp(argv[i], "jsonl") == 0     ? 0
                 : strcmp(argv[i], "jsondoc") == 0 ? 1
                 : strcmp(argv[i], "wandb") == 0   ? 3
                                                   : 2;
        a.data = slurp(argv[i + 1], &a.len);
        b = a;
        uint64_t alone = run(&a);
        pthread_t ta, tb;
        CHECK(pthread_create(&ta, NULL, worker, &a) == 0);
        CHECK(pthread_create(&tb, NULL, worker, &b) == 0);
        CHECK(pthread_join(ta, NULL) == 0 && pthread_join(tb, NULL) == 0);
        CHECK(a.result == alone && b.result == alone);
        free((void *)a.data);
        n++;
    }
    printf("tsan: %d inputs scanned on two threads at once, no race reported\n", n);
    return 0;
}
