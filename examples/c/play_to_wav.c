/*
 * play_to_wav: earshot embedded in a C program through its C ABI.
 *
 * Creates an engine (generated tiny weights, CPU), starts it, and plays 5 s
 * the way a host's audio callback would: one block every 10 ms, at real-time
 * pace. Halfway it turns the "brightness" knob up and prints the change's
 * acks as they arrive. The audio goes to a 32-bit float stereo WAV file.
 *
 * Build (from the repository root, after `cargo build --release -p earshot-ffi`):
 *
 *   cc -std=c11 -O2 -I ffi/include examples/c/play_to_wav.c \
 *      -L target/release -learshot_c -Wl,-rpath,"$PWD/target/release" -lm \
 *      -o play_to_wav
 *   ./play_to_wav out.wav
 *
 * In a real host the block loop is the audio callback and calls only
 * earshot_process (and earshot_knob_rt); knobs, prompts and ack polling
 * belong on another thread. One thread does all of it here to stay short.
 */

#define _POSIX_C_SOURCE 200809L

#include "earshot.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum {
    RATE = 48000,
    CHANNELS = 2,
    BLOCK = 480, /* 10 ms */
    SECONDS = 5,
    FRAMES = RATE * SECONDS,
};

/* Prints the failed call and earshot's message for it, and fails. */
#define CHECK(call)                                                          \
    do {                                                                     \
        EarshotStatus status_ = (call);                                      \
        if (status_ < 0) {                                                   \
            fprintf(stderr, "%s: error %d: %s\n", #call, (int)status_,      \
                    earshot_last_error());                                   \
            return 1;                                                        \
        }                                                                    \
    } while (0)

static const char *ack_kind(EarshotAckKind kind) {
    switch (kind) {
    case EARSHOT_ACK_KNOB: return "knob";
    case EARSHOT_ACK_CONDITIONING: return "conditioning";
    default: return "?";
    }
}

static const char *ack_stage(EarshotAckStage stage) {
    switch (stage) {
    case EARSHOT_ACK_RECEIVED: return "received";
    case EARSHOT_ACK_COMMITTED: return "committed";
    case EARSHOT_ACK_FIRST_PRODUCE: return "first_produce";
    case EARSHOT_ACK_FIRST_AUDIBLE: return "first_audible";
    case EARSHOT_ACK_DROPPED: return "dropped";
    default: return "?";
    }
}

/* Prints every pending ack; fails only on an error code. */
static int print_acks(EarshotEngine engine) {
    EarshotAck ack;
    EarshotStatus status;
    while ((status = earshot_poll_ack(engine, &ack)) == EARSHOT_OK) {
        printf("ack %s epoch %llu %s at frame %llu\n", ack_kind(ack.kind),
               (unsigned long long)ack.epoch, ack_stage(ack.stage),
               (unsigned long long)ack.at);
    }
    if (status < 0) {
        fprintf(stderr, "earshot_poll_ack: %s\n", earshot_last_error());
        return 1;
    }
    return 0;
}

static void put_u16(FILE *f, uint16_t v) {
    fputc(v & 0xff, f);
    fputc(v >> 8, f);
}

static void put_u32(FILE *f, uint32_t v) {
    put_u16(f, (uint16_t)(v & 0xffff));
    put_u16(f, (uint16_t)(v >> 16));
}

/* A minimal RIFF/WAVE file of interleaved 32-bit floats (format 3). */
static int write_wav(const char *path, const float *samples, uint32_t frames) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    uint32_t data_bytes = frames * CHANNELS * 4;
    fputs("RIFF", f);
    put_u32(f, 36 + data_bytes);
    fputs("WAVE", f);
    fputs("fmt ", f);
    put_u32(f, 16);
    put_u16(f, 3); /* IEEE float */
    put_u16(f, CHANNELS);
    put_u32(f, RATE);
    put_u32(f, RATE * CHANNELS * 4); /* bytes per second */
    put_u16(f, CHANNELS * 4);        /* bytes per frame */
    put_u16(f, 32);                  /* bits per sample */
    fputs("data", f);
    put_u32(f, data_bytes);
    for (uint32_t i = 0; i < frames * CHANNELS; i++) {
        union { float f; uint32_t u; } bits = { samples[i] };
        put_u32(f, bits.u);
    }
    if (fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

/* Sleeps until `start + frames / RATE`: a sound card's pace. */
static void wait_until(const struct timespec *start, long long frames) {
    long long ns = frames * 1000000000LL / RATE;
    struct timespec due = {
        start->tv_sec + (time_t)(ns / 1000000000LL),
        start->tv_nsec + (long)(ns % 1000000000LL),
    };
    if (due.tv_nsec >= 1000000000L) {
        due.tv_sec += 1;
        due.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) != 0) {
    }
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "earshot.wav";
    printf("earshot %s\n", earshot_version());

    EarshotConfig config;
    CHECK(earshot_config_default(&config));
    config.sample_rate = RATE;
    config.channels = CHANNELS;
    config.max_block = BLOCK;
    config.keep_acks = 1;

    EarshotEngine engine = 0;
    CHECK(earshot_create(&config, &engine));
    CHECK(earshot_start(engine));

    /* Everything the loop needs is allocated before it starts. */
    float *wav = malloc(sizeof(float) * FRAMES * CHANNELS);
    float left[BLOCK], right[BLOCK];
    float *out[CHANNELS] = { left, right };
    if (!wav) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long long played = 0; played < FRAMES; played += BLOCK) {
        wait_until(&start, played);
        if (played == FRAMES / 2) {
            uint64_t epoch = 0;
            CHECK(earshot_set_knob(engine, "brightness", 0.95f, &epoch));
            printf("brightness -> 0.95 at %.1f s (knob epoch %llu)\n",
                   (double)played / RATE, (unsigned long long)epoch);
        }
        CHECK(earshot_process(engine, out, CHANNELS, BLOCK));
        for (int i = 0; i < BLOCK; i++) {
            wav[(played + i) * CHANNELS] = left[i];
            wav[(played + i) * CHANNELS + 1] = right[i];
        }
        if (print_acks(engine) != 0) {
            return 1;
        }
    }

    EarshotStats stats;
    CHECK(earshot_stats(engine, &stats));
    printf("played %llu frames, %llu underruns\n",
           (unsigned long long)stats.frames_played,
           (unsigned long long)stats.underruns);
    CHECK(earshot_stop(engine, 2000));
    if (print_acks(engine) != 0) {
        return 1;
    }
    CHECK(earshot_destroy(engine));

    int failed = write_wav(path, wav, FRAMES);
    free(wav);
    if (!failed) {
        printf("wrote %s\n", path);
    }
    return failed;
}
