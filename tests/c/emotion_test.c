/* emotion_test.c: drives libemotion through its C header as a game would, checking every
 * answer. Compiled as C11 and as C++ against the committed header, linked to the shared and to
 * the static library (bindings/c/tests/c_abi.rs runs it, also under valgrind).
 *
 * usage: emotion_test PIXELS.rgba WIDTH HEIGHT BX BY BW BH PHOTO.jpg SERVER_URL SERVER_KEY
 *                     HF_URL FACES.txt [--no-timing]
 * PIXELS.rgba is the photo as raw RGBA rows; BX..BH its face box; SERVER_URL an emotion-server
 * started with API_KEYS=SERVER_KEY; HF_URL a Hugging Face stand-in whose model "refused"
 * answers 401 and every other model 400. FACES.txt names the inputs of the several-faces checks
 * (see read_inputs): a group photo with its known face boxes, and a scene of frames where two
 * faces move, one leaves and comes back. --no-timing skips the 1 ms budget of the game loop
 * (under valgrind every call is many times slower). */

#include "emotion.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures = 0;

#define CHECK(cond, ...)                                                                 \
    do {                                                                                 \
        if (cond) {                                                                      \
            printf("ok    ");                                                           \
        } else {                                                                         \
            printf("FAIL  ");                                                           \
            failures++;                                                                  \
        }                                                                                \
        printf(__VA_ARGS__);                                                             \
        printf("\n");                                                                    \
    } while (0)

/* The calling thread's last error message, in a static buffer. */
static const char *last_error(void) {
    static char message[1024];
    size_t written = 0;
    if (emotion_last_error(message, sizeof message, &written) != EMOTION_OK) {
        return "(no message)";
    }
    return message;
}

/* Checks that `got` is `want` and that the failure left a message naming `word`. */
static void expect_code(emotion_result got, emotion_result want, const char *word, const char *what) {
    const char *message = got == EMOTION_OK || got == EMOTION_NOT_READY ? "" : last_error();
    CHECK(got == want && (word == NULL || strstr(message, word) != NULL),
          "%s: code %u (want %u), message \"%s\"", what, (unsigned)got, (unsigned)want, message);
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void sleep_ms(double ms) {
    struct timespec t;
    t.tv_sec = (time_t)(ms / 1e3);
    t.tv_nsec = (long)((ms - (double)t.tv_sec * 1e3) * 1e6);
    nanosleep(&t, NULL);
}

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *data;
    long size;
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = (unsigned char *)malloc((size_t)size);
    if (data != NULL && fread(data, 1, (size_t)size, f) != (size_t)size) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *len = (size_t)size;
    return data;
}

/* The RGBA pixels in another layout, rows `stride` bytes apart. */
static unsigned char *convert(const unsigned char *rgba, uint32_t w, uint32_t h, uint32_t format,
                              size_t stride) {
    unsigned char *out = (unsigned char *)calloc(stride * h, 1);
    uint32_t x, y;
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            const unsigned char *p = rgba + ((size_t)y * w + x) * 4;
            unsigned char *q = out + (size_t)y * stride;
            switch (format) {
            case EMOTION_PIXEL_FORMAT_RGBA: memcpy(q + x * 4, p, 4); break;
            case EMOTION_PIXEL_FORMAT_RGB: memcpy(q + x * 3, p, 3); break;
            case EMOTION_PIXEL_FORMAT_BGRA:
                q[x * 4] = p[2]; q[x * 4 + 1] = p[1]; q[x * 4 + 2] = p[0]; q[x * 4 + 3] = p[3];
                break;
            case EMOTION_PIXEL_FORMAT_BGR:
                q[x * 3] = p[2]; q[x * 3 + 1] = p[1]; q[x * 3 + 2] = p[0];
                break;
            default: /* gray: BT.601 luma */
                q[x] = (unsigned char)((299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000);
                break;
            }
        }
    }
    return out;
}

static int channels_of(uint32_t format) {
    switch (format) {
    case EMOTION_PIXEL_FORMAT_RGBA: case EMOTION_PIXEL_FORMAT_BGRA: return 4;
    case EMOTION_PIXEL_FORMAT_RGB: case EMOTION_PIXEL_FORMAT_BGR: return 3;
    default: return 1;
    }
}

static float score_sum(const emotion_detection *d) {
    float sum = 0.0f;
    int i;
    for (i = 0; i < EMOTION_COUNT; i++) {
        sum += d->scores[i];
    }
    return sum;
}

/* Intersection over union of two boxes. */
static float iou(emotion_rect a, emotion_rect b) {
    float x0 = a.x > b.x ? a.x : b.x, y0 = a.y > b.y ? a.y : b.y;
    float x1 = a.x + a.width < b.x + b.width ? a.x + a.width : b.x + b.width;
    float y1 = a.y + a.height < b.y + b.height ? a.y + a.height : b.y + b.height;
    float inter = x1 > x0 && y1 > y0 ? (x1 - x0) * (y1 - y0) : 0.0f;
    float uni = a.width * a.height + b.width * b.height - inter;
    return uni > 0.0f ? inter / uni : 0.0f;
}

static int same_rect(emotion_rect a, emotion_rect b) {
    return a.x == b.x && a.y == b.y && a.width == b.width && a.height == b.height;
}

/* Every field zero (compared field by field: the padding bytes are not the library's to set). */
static int face_is_zero(const emotion_face *f) {
    int i;
    for (i = 0; i < EMOTION_COUNT; i++) {
        if (f->scores[i] != 0.0f) return 0;
    }
    return f->face_bounds.x == 0.0f && f->face_bounds.y == 0.0f && f->face_bounds.width == 0.0f &&
           f->face_bounds.height == 0.0f && f->emotion == 0 && f->confidence == 0.0f &&
           f->detection_confidence == 0.0f && !f->emotion_changed && f->previous_emotion == 0 &&
           f->track_id == 0;
}

/* The top-level fields are those of faces[0], the largest face. */
static int top_is_first_face(const emotion_detection *d) {
    const emotion_face *f = &d->faces[0];
    int i;
    for (i = 0; i < EMOTION_COUNT; i++) {
        if (d->scores[i] != f->scores[i]) return 0;
    }
    return d->face_count >= 1 && d->emotion == f->emotion && d->confidence == f->confidence &&
           same_rect(d->face_bounds, f->face_bounds) && d->emotion_changed == f->emotion_changed &&
           d->previous_emotion == f->previous_emotion;
}

/* Entries from face_count on are zeroed. */
static int rest_is_zero(const emotion_detection *d) {
    uint32_t i;
    for (i = d->face_count; i < EMOTION_MAX_FACES; i++) {
        if (!face_is_zero(&d->faces[i])) return 0;
    }
    return d->face_count <= EMOTION_MAX_FACES;
}

struct frame {
    const emotion_client *client;
    const unsigned char *rgba;
    uint32_t width, height;
    emotion_rect box;
    int happy;
};

/* Several threads detect on one client at once (the header says clients are thread-safe). */
static void *detect_in_thread(void *arg) {
    struct frame *f = (struct frame *)arg;
    emotion_detection d;
    int i;
    f->happy = 0;
    for (i = 0; i < 5; i++) {
        if (emotion_detect_rgba(f->client, f->rgba, f->width, f->height, (size_t)f->width * 4,
                                &f->box, &d) == EMOTION_OK &&
            d.emotion == EMOTION_HAPPY) {
            f->happy++;
        }
    }
    return NULL;
}

static void check_basics(void) {
    emotion_config config = emotion_config_default();
    const char *label = emotion_label(EMOTION_HAPPY);
    CHECK(strlen(emotion_version()) > 0, "version %s", emotion_version());
    CHECK(label != NULL && strcmp(label, "happy") == 0, "label of EMOTION_HAPPY is happy");
    CHECK(strcmp(emotion_label(EMOTION_ANGRY), "angry") == 0 &&
              strcmp(emotion_label(EMOTION_NEUTRAL), "neutral") == 0,
          "labels of the first and last emotion");
    CHECK(emotion_label(EMOTION_COUNT) == NULL, "no label past the seventh emotion");
    CHECK(config.workers == 1 && config.smoothing == 0.5f && config.cache_entries > 0,
          "default config: %u worker, smoothing %.2f, %u cache entries", config.workers,
          (double)config.smoothing, config.cache_entries);
    emotion_client_free(NULL);
    CHECK(1, "emotion_client_free(NULL) is a no-op");
}

/* `client` has the default face detector; `whole` none. */
static void check_detect(const emotion_client *client, const emotion_client *whole,
                         const unsigned char *rgba, uint32_t w, uint32_t h, emotion_rect box,
                         const char *photo) {
    emotion_detection d;
    uint32_t format;
    size_t len = 0;
    unsigned char *jpeg;
    char model[128];
    size_t written = 0;

    memset(&d, 0, sizeof d);
    expect_code(emotion_detect_rgba(client, rgba, w, h, (size_t)w * 4, &box, &d), EMOTION_OK,
                NULL, "detect_rgba with the face box");
    CHECK(d.emotion == EMOTION_HAPPY && d.confidence > 0.5f, "the face is %s at %.3f",
          emotion_label(d.emotion), (double)d.confidence);
    CHECK(d.face_detected && d.face_bounds.x == box.x && d.face_bounds.y == box.y &&
              d.face_bounds.width == box.width && d.face_bounds.height == box.height,
          "face_bounds are the box given (%.0f,%.0f %.0fx%.0f)", (double)d.face_bounds.x,
          (double)d.face_bounds.y, (double)d.face_bounds.width, (double)d.face_bounds.height);
    CHECK(fabsf(score_sum(&d) - 1.0f) < 1e-3f && d.scores[EMOTION_HAPPY] == d.confidence,
          "the 7 scores sum to 1 and the dominant one is the confidence");
    CHECK(d.face_count == 1 && d.frame_id == 0 && !d.emotion_changed && d.processing_ms > 0.0f,
          "one face, no frame id, no change, %.2f ms", (double)d.processing_ms);

    for (format = EMOTION_PIXEL_FORMAT_RGBA; format <= EMOTION_PIXEL_FORMAT_GRAY; format++) {
        /* Rows padded past their pixels, as GPU read-backs often are. */
        size_t stride = (size_t)w * (size_t)channels_of(format) + 12;
        unsigned char *pixels = convert(rgba, w, h, format, stride);
        emotion_detection e;
        emotion_result r = emotion_detect(client, pixels, w, h, stride, format, &box, &e);
        CHECK(r == EMOTION_OK && e.emotion == EMOTION_HAPPY &&
                  fabsf(e.scores[EMOTION_HAPPY] - d.scores[EMOTION_HAPPY]) < 0.05f,
              "format %u with padded rows: %s at %.3f", (unsigned)format,
              r == EMOTION_OK ? emotion_label(e.emotion) : last_error(),
              r == EMOTION_OK ? (double)e.confidence : 0.0);
        free(pixels);
    }

    CHECK(d.faces[0].face_bounds.x == box.x && d.faces[0].face_bounds.width == box.width &&
              d.faces[0].detection_confidence == 0.0f && d.faces[0].track_id == 0 &&
              top_is_first_face(&d) && face_is_zero(&d.faces[1]) && d.ended_track_count == 0,
          "faces[0] is the box given (detection_confidence 0, track 0), the rest zeroed");

    /* The default detector (short range) finds the face of a frame that comes without a box. */
    expect_code(emotion_detect_rgba(client, rgba, w, h, (size_t)w * 4, NULL, &d), EMOTION_OK,
                NULL, "detect_rgba without a box, default face detector");
    CHECK(d.face_detected && d.face_count == 1 && iou(d.face_bounds, box) >= 0.5f &&
              d.faces[0].detection_confidence > 0.5f && d.emotion == EMOTION_HAPPY &&
              top_is_first_face(&d) && d.faces[0].track_id == 0,
          "the detector finds the face: %.0f,%.0f %.0fx%.0f (IoU %.2f with the known box), "
          "detection confidence %.3f, %s",
          (double)d.face_bounds.x, (double)d.face_bounds.y, (double)d.face_bounds.width,
          (double)d.face_bounds.height, (double)iou(d.face_bounds, box),
          (double)d.faces[0].detection_confidence, emotion_label(d.emotion));

    expect_code(emotion_detect_rgba(whole, rgba, w, h, (size_t)w * 4, NULL, &d), EMOTION_OK,
                NULL, "detect_rgba without a box, face detector off");
    CHECK(!d.face_detected && d.face_bounds.width == (float)w && d.face_bounds.height == (float)h,
          "without a box the whole frame is classified (face_detected false)");
    CHECK(d.face_count == 1 && d.faces[0].detection_confidence == 0.0f && top_is_first_face(&d),
          "the whole frame is one face, found by no detector");

    jpeg = read_file(photo, &len);
    CHECK(jpeg != NULL, "read %s", photo);
    if (jpeg != NULL) {
        expect_code(emotion_detect_encoded(client, jpeg, len, &box, &d), EMOTION_OK, NULL,
                    "detect_encoded on the JPEG");
        CHECK(d.emotion == EMOTION_HAPPY, "the JPEG's face is %s", emotion_label(d.emotion));
        free(jpeg);
    }

    expect_code(emotion_client_model(client, model, sizeof model, &written), EMOTION_OK, NULL,
                "emotion_client_model");
    CHECK(strncmp(model, "local/", 6) == 0 && written == strlen(model), "the model is %s", model);
}

static void check_errors(const emotion_client *client, const unsigned char *rgba, uint32_t w,
                         uint32_t h, emotion_rect box) {
    emotion_detection d;
    emotion_detection untouched;
    emotion_client *made = NULL;
    emotion_config config = emotion_config_default();
    emotion_rect outside;
    emotion_rect not_finite;
    static const unsigned char garbage[] = "this is no image at all";
    static const unsigned char gif[] = "GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    unsigned char *wide;
    char tiny[4];
    size_t written = 12345;
    uint64_t frame_id = 0;

    memset(&untouched, 0xAB, sizeof untouched);
    d = untouched;

    expect_code(emotion_detect_rgba(NULL, rgba, w, h, (size_t)w * 4, &box, &d),
                EMOTION_NULL_PARAMETER, "client", "a NULL client");
    expect_code(emotion_detect_rgba(client, NULL, w, h, (size_t)w * 4, &box, &d),
                EMOTION_NULL_PARAMETER, "pixels", "NULL pixels");
    expect_code(emotion_detect_rgba(client, rgba, w, h, (size_t)w * 4, &box, NULL),
                EMOTION_NULL_PARAMETER, "out", "a NULL result");
    expect_code(emotion_client_new_local(NULL, NULL), EMOTION_NULL_PARAMETER, "out",
                "a NULL out-parameter for the client");
    expect_code(emotion_detect(client, rgba, w, h, (size_t)w * 4, 99, &box, &d),
                EMOTION_INVALID_ARGUMENT, "pixel format", "pixel format 99");
    expect_code(emotion_detect_rgba(client, rgba, w, h, (size_t)w * 4 - 1, &box, &d),
                EMOTION_INVALID_PIXELS, "stride", "a stride shorter than a row");
    expect_code(emotion_detect_encoded(client, garbage, sizeof garbage - 1, NULL, &d),
                EMOTION_INVALID_IMAGE, NULL, "bytes that are no image");
    expect_code(emotion_detect_encoded(client, gif, sizeof gif - 1, NULL, &d),
                EMOTION_UNSUPPORTED_FORMAT, "GIF", "a GIF");
    wide = (unsigned char *)calloc((size_t)9000 * 4, 1);
    expect_code(emotion_detect_rgba(client, wide, 9000, 1, (size_t)9000 * 4, NULL, &d),
                EMOTION_IMAGE_TOO_LARGE, "9000x1", "a frame 9000 pixels wide");
    free(wide);
    outside.x = 5000.0f; outside.y = 5000.0f; outside.width = 50.0f; outside.height = 50.0f;
    expect_code(emotion_detect_rgba(client, rgba, w, h, (size_t)w * 4, &outside, &d),
                EMOTION_INVALID_FACE_BOUNDS, "outside", "a box outside the frame");
    not_finite = box;
    not_finite.width = NAN;
    expect_code(emotion_detect_rgba(client, rgba, w, h, (size_t)w * 4, &not_finite, &d),
                EMOTION_INVALID_FACE_BOUNDS, "finite", "a box with a NaN width");
    CHECK(memcmp(&d, &untouched, sizeof d) == 0, "no failed call wrote its out-parameter");

    config.smoothing = 2.0f;
    expect_code(emotion_client_new_local(&config, &made), EMOTION_INVALID_ARGUMENT, "smoothing",
                "a smoothing of 2");
    CHECK(made == NULL, "a failed constructor leaves *out alone");
    expect_code(emotion_client_new_server("ftp://example.invalid", NULL, NULL, &made),
                EMOTION_INVALID_ARGUMENT, "http://", "a server URL that is not http");
    expect_code(emotion_client_new_huggingface("key", "a,,b", NULL, false, NULL, &made),
                EMOTION_INVALID_ARGUMENT, "commas", "an empty model id in the chain");
    expect_code(emotion_set_smoothing(client, -1.0f), EMOTION_INVALID_ARGUMENT, "smoothing",
                "a smoothing of -1");
    expect_code(emotion_submit(client, rgba, w, h, (size_t)w * 4, 7, NULL, &frame_id),
                EMOTION_INVALID_ARGUMENT, "pixel format", "submit with pixel format 7");
    CHECK(frame_id == 0, "a failed submit gives no frame id");

    /* The last error is the thread's: make one, then ask with a buffer too small for it. */
    emotion_detect_rgba(client, rgba, w, h, 1, &box, &d);
    expect_code(emotion_last_error(tiny, sizeof tiny, &written), EMOTION_BUFFER_TOO_SMALL, NULL,
                "emotion_last_error into 4 bytes");
    CHECK(written == 12345, "a failed emotion_last_error leaves written alone");
    CHECK(emotion_last_error_length() > sizeof tiny, "emotion_last_error_length says %zu bytes",
          emotion_last_error_length());
    expect_code(emotion_last_error(NULL, 10, &written), EMOTION_NULL_PARAMETER, NULL,
                "emotion_last_error into NULL");
}

static void check_remote(const unsigned char *rgba, uint32_t w, uint32_t h, emotion_rect box,
                         const char *server_url, const char *server_key, const char *hf_url) {
    emotion_client *client = NULL;
    emotion_detection d;
    char model[256];
    size_t written = 0;

    expect_code(emotion_client_new_server(server_url, server_key, NULL, &client), EMOTION_OK,
                NULL, "a server client");
    if (client != NULL) {
        expect_code(emotion_detect_rgba(client, rgba, w, h, (size_t)w * 4, &box, &d), EMOTION_OK,
                    NULL, "detect through the server");
        CHECK(d.emotion == EMOTION_HAPPY, "the server says %s at %.3f", emotion_label(d.emotion),
              (double)d.confidence);
        emotion_client_model(client, model, sizeof model, &written);
        CHECK(strncmp(model, "server:http://", 14) == 0, "the model is %s", model);
        emotion_client_free(client);
        client = NULL;
    }

    expect_code(emotion_client_new_server(server_url, "wrong-key", NULL, &client), EMOTION_OK,
                NULL, "a server client with a wrong key");
    if (client != NULL) {
        expect_code(emotion_detect_rgba(client, rgba, w, h, (size_t)w * 4, &box, &d),
                    EMOTION_UNAUTHORIZED, "401", "the server refuses the key");
        emotion_client_free(client);
        client = NULL;
    }

    /* Nothing listens on port 9 (discard) on loopback here. */
    expect_code(emotion_client_new_server("http://127.0.0.1:9", NULL, NULL, &client), EMOTION_OK,
                NULL, "a client of a closed port");
    if (client != NULL) {
        expect_code(emotion_detect_rgba(client, rgba, w, h, (size_t)w * 4, &box, &d),
                    EMOTION_BACKEND_ERROR, "connect", "a server that cannot be reached");
        emotion_client_free(client);
        client = NULL;
    }

    expect_code(emotion_client_new_huggingface("hf_test", "refused", hf_url, false, NULL, &client),
                EMOTION_OK, NULL, "a Hugging Face client");
    if (client != NULL) {
        expect_code(emotion_detect_rgba(client, rgba, w, h, (size_t)w * 4, &box, &d),
                    EMOTION_UNAUTHORIZED, "token", "Hugging Face refuses the token");
        emotion_client_free(client);
        client = NULL;
    }

    expect_code(emotion_client_new_huggingface("hf_test", "broken/a, broken/b", hf_url, false, NULL,
                                               &client),
                EMOTION_OK, NULL, "a Hugging Face chain of two models");
    if (client != NULL) {
        expect_code(emotion_detect_rgba(client, rgba, w, h, (size_t)w * 4, &box, &d),
                    EMOTION_UNAVAILABLE, "broken/b", "every model of the chain fails");
        emotion_client_free(client);
    }
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double cpu_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

#define TICKS 180
#define WARM_UP 2

/* A render loop at 60 Hz: submit the camera frame and poll every tick; neither call may hold
 * the render thread up. Each call's wall time counts what the game waits for; its thread CPU
 * time, the work it does itself (on an oversubscribed machine the wall time also holds the
 * scheduler's time slices given to other threads). */
static void check_game_loop(const emotion_client *client, const unsigned char *rgba, uint32_t w,
                            uint32_t h, emotion_rect box, int timing) {
    emotion_detection d;
    uint64_t submitted = 0, last_id = 0, dropped = 0, results = 0, happy = 0;
    static double wall[2 * TICKS];
    double worst_cpu = 0.0, warm_up = 0.0, start_ms = now_ms();
    int tick, increasing = 1;
    double start;

    expect_code(emotion_poll(client, &d), EMOTION_NOT_READY, NULL, "poll before any submit");
    for (tick = 0; tick < TICKS; tick++) {
        if (tick == 1) {
            /* Neither call waits for the model: right after a submit there is no result yet
             * (an inference takes milliseconds; these calls take microseconds). */
            uint64_t first = submitted;
            while (last_id < first && now_ms() < 30000.0 + start_ms) {
                if (emotion_poll(client, &d) == EMOTION_OK) {
                    last_id = d.frame_id;
                    dropped += d.dropped_frames;
                    results++;
                    happy += d.emotion == EMOTION_HAPPY;
                }
            }
        }
        double t0 = now_ms(), c0 = cpu_ms(), t1, c1, t2, c2;
        uint64_t id = 0;
        emotion_result r = emotion_submit_rgba(client, rgba, w, h, (size_t)w * 4, &box, &id);
        t1 = now_ms();
        c1 = cpu_ms();
        if (r == EMOTION_OK) {
            increasing &= id == submitted + 1;
            submitted = id;
        }
        r = emotion_poll(client, &d);
        t2 = now_ms();
        if (tick == 1) {
            CHECK(r == EMOTION_NOT_READY, "poll right after a submit returns at once, NOT_READY");
        }
        c2 = cpu_ms();
        if (r == EMOTION_OK) {
            increasing &= d.frame_id > last_id;
            last_id = d.frame_id;
            dropped += d.dropped_frames;
            results++;
            happy += d.emotion == EMOTION_HAPPY;
        }
        wall[2 * tick] = t1 - t0;
        wall[2 * tick + 1] = t2 - t1;
        /* The first frames allocate the buffers later frames reuse: warm-up, reported apart. */
        if (tick < WARM_UP) {
            if (t1 - t0 > warm_up) warm_up = t1 - t0;
            wall[2 * tick] = 0.0;
        } else {
            if (c1 - c0 > worst_cpu) worst_cpu = c1 - c0;
            if (c2 - c1 > worst_cpu) worst_cpu = c2 - c1;
        }
        sleep_ms(16.6 - (now_ms() - t0));
    }
    /* The last frame's result comes, then nothing more. */
    start = now_ms();
    while (last_id < submitted && now_ms() - start < 30000.0) {
        if (emotion_poll(client, &d) == EMOTION_OK) {
            last_id = d.frame_id;
            dropped += d.dropped_frames;
            results++;
            happy += d.emotion == EMOTION_HAPPY;
        } else {
            sleep_ms(5.0);
        }
    }
    CHECK(submitted == TICKS && increasing, "%d frames submitted, ids and results in order", TICKS);
    CHECK(results > 0 && happy == results, "%llu results, all happy",
          (unsigned long long)results);
    CHECK(last_id == submitted && results + dropped == submitted,
          "every frame accounted for: %llu results + %llu dropped = %llu submitted",
          (unsigned long long)results, (unsigned long long)dropped,
          (unsigned long long)submitted);
    expect_code(emotion_poll(client, &d), EMOTION_NOT_READY, NULL, "nothing new after the last");
    qsort(wall, 2 * TICKS, sizeof wall[0], compare_doubles);
    /* The figures are a benchmark's, printed for the record: on a shared 2-core machine the
     * scheduler alone can hold any thread up for a time slice (3 ms and more were seen), so only
     * the median is checked, against the 1 ms a frame at 60 Hz can spare. */
    if (timing) {
        CHECK(wall[TICKS] < 1.0,
              "submit and poll: worst %.3f ms of CPU, p50 %.3f ms, p99 %.3f ms, max %.3f ms wall"
              " (first %d submits, warm-up: %.3f ms)",
              worst_cpu, wall[TICKS], wall[2 * TICKS * 99 / 100], wall[2 * TICKS - 1], WARM_UP,
              warm_up);
    } else {
        printf("info  submit and poll: worst %.3f ms of CPU, max %.3f ms wall (not checked)\n",
               worst_cpu, wall[2 * TICKS - 1]);
    }
}

#define MAX_SCENE_FRAMES 64
#define PATH_LEN 4096

/* What FACES.txt names, one item a line:
 *   group RGBA_PATH WIDTH HEIGHT JPEG_PATH   a group photo as raw RGBA rows, and as its JPEG
 *   face X Y WIDTH HEIGHT                    a known face box of it (one line per face)
 *   scene RGBA_PATH WIDTH HEIGHT FRAMES SIDE TIMEOUT
 *                                            FRAMES frames of raw RGBA one after another; each
 *                                            face is SIDE pixels square; TIMEOUT is the
 *                                            track_timeout the scene is made for
 *   frame I HX HY OX OY                      frame I: the happy face's top-left corner, the
 *                                            other (neutral) face's, -1 -1 when it is away */
struct inputs {
    char group_rgba[PATH_LEN], group_jpeg[PATH_LEN], scene_rgba[PATH_LEN];
    uint32_t group_w, group_h, scene_w, scene_h, timeout;
    emotion_rect group_faces[EMOTION_MAX_FACES];
    int group_face_count, scene_frames, frames_read;
    float side;
    int happy_x[MAX_SCENE_FRAMES], happy_y[MAX_SCENE_FRAMES];
    int other_x[MAX_SCENE_FRAMES], other_y[MAX_SCENE_FRAMES];
};

static int read_inputs(const char *path, struct inputs *in) {
    FILE *f = fopen(path, "r");
    char key[16];
    int ok = 1;
    if (f == NULL) {
        return 0;
    }
    memset(in, 0, sizeof *in);
    while (ok && fscanf(f, "%15s", key) == 1) {
        if (strcmp(key, "group") == 0) {
            ok = fscanf(f, "%4095s %u %u %4095s", in->group_rgba, &in->group_w, &in->group_h,
                        in->group_jpeg) == 4;
        } else if (strcmp(key, "face") == 0 && in->group_face_count < EMOTION_MAX_FACES) {
            emotion_rect *r = &in->group_faces[in->group_face_count++];
            ok = fscanf(f, "%f %f %f %f", &r->x, &r->y, &r->width, &r->height) == 4;
        } else if (strcmp(key, "scene") == 0) {
            ok = fscanf(f, "%4095s %u %u %d %f %u", in->scene_rgba, &in->scene_w, &in->scene_h,
                        &in->scene_frames, &in->side, &in->timeout) == 6 &&
                 in->scene_frames > 0 && in->scene_frames <= MAX_SCENE_FRAMES;
        } else if (strcmp(key, "frame") == 0) {
            int i;
            ok = fscanf(f, "%d", &i) == 1 && i >= 0 && i < MAX_SCENE_FRAMES &&
                 fscanf(f, "%d %d %d %d", &in->happy_x[i], &in->happy_y[i], &in->other_x[i],
                        &in->other_y[i]) == 4;
            in->frames_read++;
        } else {
            ok = 0;
        }
    }
    fclose(f);
    return ok && in->group_face_count > 0 && in->frames_read == in->scene_frames;
}

/* A blocking result for the group photo: every known face found once, in order of size. */
static void check_group(const struct inputs *in, const emotion_detection *d, const char *what) {
    int matched[EMOTION_MAX_FACES] = {0};
    int all_found = 1, confident = 1, sorted = 1, untracked = 1;
    float worst_iou = 1.0f, least_confidence = 1.0f;
    uint32_t i;
    int k;
    CHECK(d->face_count == (uint32_t)in->group_face_count && d->face_detected,
          "%s: %u faces found (want %d)", what, d->face_count, in->group_face_count);
    for (i = 0; i < d->face_count && i < EMOTION_MAX_FACES; i++) {
        const emotion_face *f = &d->faces[i];
        int best = -1;
        float best_iou = 0.0f;
        for (k = 0; k < in->group_face_count; k++) {
            float o = iou(f->face_bounds, in->group_faces[k]);
            if (o > best_iou) {
                best_iou = o;
                best = k;
            }
        }
        if (best < 0 || best_iou < 0.5f || matched[best]) {
            all_found = 0;
        } else {
            matched[best] = 1;
        }
        if (best_iou < worst_iou) worst_iou = best_iou;
        if (f->detection_confidence < least_confidence) least_confidence = f->detection_confidence;
        confident &= f->detection_confidence > 0.5f && f->detection_confidence <= 1.0f;
        untracked &= f->track_id == 0 && !f->emotion_changed && f->previous_emotion == f->emotion;
        if (i > 0) {
            const emotion_rect *a = &d->faces[i - 1].face_bounds, *b = &f->face_bounds;
            sorted &= a->width * a->height >= b->width * b->height;
        }
        printf("info  %s: face %u at %.0f,%.0f %.0fx%.0f, %s %.3f, detection %.3f, IoU %.2f\n",
               what, (unsigned)i, (double)f->face_bounds.x, (double)f->face_bounds.y,
               (double)f->face_bounds.width, (double)f->face_bounds.height,
               emotion_label(f->emotion), (double)f->confidence, (double)f->detection_confidence,
               (double)best_iou);
    }
    CHECK(all_found && d->face_count == (uint32_t)in->group_face_count,
          "%s: each face overlaps its own known box (worst IoU %.2f >= 0.5)", what,
          (double)worst_iou);
    CHECK(confident, "%s: detection_confidence > 0.5 for each (least %.3f)", what,
          (double)least_confidence);
    CHECK(sorted, "%s: faces sorted largest first", what);
    CHECK(top_is_first_face(d), "%s: the top-level fields are faces[0]'s", what);
    CHECK(rest_is_zero(d), "%s: entries past face_count are zeroed", what);
    CHECK(untracked && d->frame_id == 0 && d->ended_track_count == 0 && !d->emotion_changed,
          "%s: a blocking call gives track_id 0, no change, no frame id, no ended track", what);
}

/* Every face of a group photo, found by the full-range detector, blocking. */
static void check_faces(const struct inputs *in) {
    emotion_client *client = NULL;
    emotion_config config = emotion_config_default();
    emotion_detection d;
    unsigned char *pixels, *jpeg;
    size_t len = 0;

    config.face_detector = EMOTION_FACE_DETECTOR_FULL;
    config.cache_entries = 0;
    expect_code(emotion_client_new_local(&config, &client), EMOTION_OK, NULL,
                "a local client with the full-range detector");
    if (client == NULL) {
        return;
    }
    pixels = read_file(in->group_rgba, &len);
    CHECK(pixels != NULL && len == (size_t)in->group_w * in->group_h * 4, "read %s (%ux%u RGBA)",
          in->group_rgba, in->group_w, in->group_h);
    if (pixels != NULL && len == (size_t)in->group_w * in->group_h * 4) {
        expect_code(emotion_detect(client, pixels, in->group_w, in->group_h,
                                   (size_t)in->group_w * 4, EMOTION_PIXEL_FORMAT_RGBA, NULL, &d),
                    EMOTION_OK, NULL, "detect on the group photo's RGBA, no box");
        check_group(in, &d, "group RGBA");
    }
    free(pixels);
    jpeg = read_file(in->group_jpeg, &len);
    CHECK(jpeg != NULL, "read %s", in->group_jpeg);
    if (jpeg != NULL) {
        expect_code(emotion_detect_encoded(client, jpeg, len, NULL, &d), EMOTION_OK, NULL,
                    "detect_encoded on the group photo's JPEG, no box");
        check_group(in, &d, "group JPEG");
    }
    free(jpeg);
    emotion_client_free(client);
}

/* Settings out of range fail at client creation, naming the field, and leave *out alone. */
static void check_config(void) {
    static int sentinel;
    emotion_client *const untouched = (emotion_client *)&sentinel;
    emotion_client *made = untouched;
    emotion_config config = emotion_config_default();

    CHECK(config.face_detector == EMOTION_FACE_DETECTOR_SHORT && config.max_faces == 5 &&
              config.min_face_size == 0 && config.track_timeout == 15,
          "default config: short-range detector, %u faces at most, min size %u, track timeout %u",
          config.max_faces, config.min_face_size, config.track_timeout);
    CHECK(EMOTION_FACE_DETECTOR_OFF == 0 && EMOTION_FACE_DETECTOR_SHORT == 1 &&
              EMOTION_FACE_DETECTOR_FULL == 2 && EMOTION_MAX_FACES == 8,
          "EMOTION_FACE_DETECTOR_OFF/SHORT/FULL are 0/1/2, EMOTION_MAX_FACES is 8");

    config.face_detector = 9;
    expect_code(emotion_client_new_local(&config, &made), EMOTION_INVALID_ARGUMENT,
                "face_detector", "a local client with face_detector 9");
    CHECK(made == untouched, "a failed constructor leaves *out untouched (face_detector 9)");
    expect_code(emotion_client_new_server("http://127.0.0.1:9", NULL, &config, &made),
                EMOTION_INVALID_ARGUMENT, "face_detector", "a server client with face_detector 9");
    CHECK(made == untouched, "a failed server constructor leaves *out untouched");
    config = emotion_config_default();
    config.max_faces = 0;
    expect_code(emotion_client_new_local(&config, &made), EMOTION_INVALID_ARGUMENT, "max_faces",
                "max_faces 0");
    CHECK(made == untouched, "a failed constructor leaves *out untouched (max_faces 0)");
    config.max_faces = EMOTION_MAX_FACES + 1;
    expect_code(emotion_client_new_local(&config, &made), EMOTION_INVALID_ARGUMENT, "max_faces",
                "max_faces 9");
    CHECK(made == untouched, "a failed constructor leaves *out untouched (max_faces 9)");

    /* The limits themselves are accepted. */
    config.max_faces = EMOTION_MAX_FACES;
    config.face_detector = EMOTION_FACE_DETECTOR_OFF;
    expect_code(emotion_client_new_local(&config, &made), EMOTION_OK, NULL,
                "max_faces 8 with the detector off");
    if (made != untouched) emotion_client_free(made);
    made = untouched;
    config.max_faces = 1;
    config.face_detector = EMOTION_FACE_DETECTOR_FULL;
    expect_code(emotion_client_new_local(&config, &made), EMOTION_OK, NULL,
                "max_faces 1 with the full-range detector");
    if (made != untouched) emotion_client_free(made);
}

/* Submits a frame and polls until its own result comes (no frame is dropped). */
static int submit_and_wait(const emotion_client *client, const unsigned char *pixels, uint32_t w,
                           uint32_t h, emotion_detection *d) {
    uint64_t id = 0;
    double start = now_ms();
    emotion_result r = emotion_submit_rgba(client, pixels, w, h, (size_t)w * 4, NULL, &id);
    if (r != EMOTION_OK) {
        printf("info  submit failed (%u): %s\n", (unsigned)r, last_error());
        return 0;
    }
    /* Bounded: a frame takes tens of milliseconds, under valgrind some seconds. */
    while (now_ms() - start < 120000.0) {
        r = emotion_poll(client, d);
        if (r == EMOTION_OK) {
            return d->frame_id == id;
        }
        if (r != EMOTION_NOT_READY) {
            printf("info  poll failed (%u): %s\n", (unsigned)r, last_error());
            return 0;
        }
        sleep_ms(2.0);
    }
    return 0;
}

/* Two faces walk through whole frames (no boxes given): each keeps its track; the one that
 * leaves ends its track once it has been missing track_timeout results in a row, and coming
 * back it gets a new one. */
static void check_tracks(const struct inputs *in) {
    emotion_client *client = NULL;
    emotion_config config = emotion_config_default();
    emotion_detection d;
    unsigned char *frames;
    size_t len = 0, frame_len = (size_t)in->scene_w * in->scene_h * 4;
    uint64_t happy_id = 0, first_other = 0, later_other = 0;
    int i, k, first_away = -1, first_back = -1;
    int own_results = 1, counts = 1, happy_kept = 1, happy_face = 1, other_kept = 1;
    int other_face = 1, later_kept = 1, consistent = 1, ends = 0, end_frame = -1;
    uint64_t ended_id = 0;

    for (i = 0; i < in->scene_frames; i++) {
        if (in->other_x[i] < 0 && first_away < 0) first_away = i;
        if (in->other_x[i] >= 0 && first_away >= 0 && first_back < 0) first_back = i;
    }
    frames = read_file(in->scene_rgba, &len);
    CHECK(frames != NULL && len == frame_len * (size_t)in->scene_frames,
          "read %d scene frames of %ux%u RGBA", in->scene_frames, in->scene_w, in->scene_h);
    if (frames == NULL || len != frame_len * (size_t)in->scene_frames || first_away < 0 ||
        first_back < 0) {
        free(frames);
        return;
    }

    config.face_detector = EMOTION_FACE_DETECTOR_FULL;
    config.track_timeout = in->timeout;
    config.smoothing = 0.0f;
    config.cache_entries = 0;
    expect_code(emotion_client_new_local(&config, &client), EMOTION_OK, NULL,
                "a local client for the moving scene");
    if (client == NULL) {
        free(frames);
        return;
    }
    for (i = 0; i < in->scene_frames; i++) {
        int placed = in->other_x[i] >= 0 ? 2 : 1;
        if (!submit_and_wait(client, frames + frame_len * (size_t)i, in->scene_w, in->scene_h,
                             &d)) {
            own_results = 0;
            printf("info  frame %d: its result did not come\n", i);
            continue;
        }
        own_results &= d.dropped_frames == 0;
        if (d.face_count != (uint32_t)placed) {
            counts = 0;
            printf("info  frame %d: %u faces, %d placed\n", i, d.face_count, placed);
        }
        consistent &= top_is_first_face(&d) && rest_is_zero(&d) && d.face_detected;
        for (k = 0; k < (int)d.face_count && k < EMOTION_MAX_FACES; k++) {
            const emotion_face *f = &d.faces[k];
            float centre = f->face_bounds.x + f->face_bounds.width / 2.0f;
            consistent &= f->track_id != 0 && f->detection_confidence > 0.5f;
            /* The faces never cross: the walking (happy) face stays left of the other. */
            if (centre < (float)in->happy_x[i] + in->side) {
                if (happy_id == 0) happy_id = f->track_id;
                happy_kept &= f->track_id == happy_id;
                happy_face &= f->emotion == EMOTION_HAPPY;
            } else if (i < first_away) {
                if (first_other == 0) first_other = f->track_id;
                other_kept &= f->track_id == first_other;
                other_face &= f->emotion == EMOTION_NEUTRAL;
            } else {
                if (later_other == 0) later_other = f->track_id;
                later_kept &= f->track_id == later_other;
                other_face &= f->emotion == EMOTION_NEUTRAL;
            }
        }
        if (d.ended_track_count > 0) {
            ends += (int)d.ended_track_count;
            end_frame = i;
            ended_id = d.ended_tracks[0];
            printf("info  frame %d: %u track(s) ended, first %llu\n", i, d.ended_track_count,
                   (unsigned long long)d.ended_tracks[0]);
        }
        for (k = (int)(d.ended_track_count < EMOTION_MAX_FACES ? d.ended_track_count
                                                                : EMOTION_MAX_FACES);
             k < EMOTION_MAX_FACES; k++) {
            consistent &= d.ended_tracks[k] == 0;
        }
    }
    CHECK(own_results, "each of the %d frames got its own result, none dropped", in->scene_frames);
    CHECK(counts, "2 faces while both are in view, 1 while one is away");
    CHECK(consistent, "each result: faces tracked (ids from 1), detector-confident, the top-level "
                      "fields faces[0]'s, the rest zeroed, no stray ended ids");
    CHECK(happy_id != 0 && happy_kept, "the walking face keeps track %llu throughout",
          (unsigned long long)happy_id);
    CHECK(first_other != 0 && other_kept && first_other != happy_id,
          "the other face keeps its own track %llu until it leaves", (unsigned long long)first_other);
    CHECK(happy_face && other_face, "the walking face is happy, the other neutral, in every frame");
    CHECK(ends == 1 && ended_id == first_other && end_frame == first_away + (int)in->timeout - 1,
          "its track ends once, at frame %d (want %d: missing %u results in a row from frame %d)",
          end_frame, first_away + (int)in->timeout - 1, in->timeout, first_away);
    CHECK(later_other != 0 && later_kept && later_other > first_other && later_other > happy_id,
          "back at frame %d, it gets a new, larger track id %llu (was %llu)", first_back,
          (unsigned long long)later_other, (unsigned long long)first_other);
    emotion_client_free(client);
    free(frames);
}

int main(int argc, char **argv) {
    emotion_client *client = NULL;
    emotion_client *whole = NULL;
    emotion_config config = emotion_config_default();
    static struct inputs inputs;
    emotion_rect box;
    unsigned char *rgba;
    size_t len = 0;
    uint32_t w, h;
    int timing = 1;
    struct frame frames[4];
    pthread_t threads[4];
    int i;

    if (argc < 13) {
        fprintf(stderr, "usage: %s PIXELS.rgba W H BX BY BW BH PHOTO SERVER_URL SERVER_KEY HF_URL"
                        " FACES.txt [--no-timing]\n", argv[0]);
        return 2;
    }
    for (i = 13; i < argc; i++) {
        if (strcmp(argv[i], "--no-timing") == 0) {
            timing = 0;
        }
    }
    w = (uint32_t)atoi(argv[2]);
    h = (uint32_t)atoi(argv[3]);
    box.x = (float)atof(argv[4]);
    box.y = (float)atof(argv[5]);
    box.width = (float)atof(argv[6]);
    box.height = (float)atof(argv[7]);
    rgba = read_file(argv[1], &len);
    if (rgba == NULL || len != (size_t)w * h * 4) {
        fprintf(stderr, "%s does not hold %ux%u RGBA pixels\n", argv[1], w, h);
        return 2;
    }
    if (!read_inputs(argv[12], &inputs)) {
        fprintf(stderr, "%s does not list the group photo and the scene\n", argv[12]);
        free(rgba);
        return 2;
    }

    check_basics();
    config.cache_entries = 0; /* every call really runs the model */
    expect_code(emotion_client_new_local(&config, &client), EMOTION_OK, NULL, "a local client");
    if (client == NULL) {
        return 1;
    }
    config.face_detector = EMOTION_FACE_DETECTOR_OFF;
    expect_code(emotion_client_new_local(&config, &whole), EMOTION_OK, NULL,
                "a local client without a face detector");
    if (whole == NULL) {
        emotion_client_free(client);
        return 1;
    }
    check_detect(client, whole, rgba, w, h, box, argv[8]);
    emotion_client_free(whole);
    check_errors(client, rgba, w, h, box);
    check_config();
    check_faces(&inputs);
    check_tracks(&inputs);

    for (i = 0; i < 4; i++) {
        frames[i].client = client;
        frames[i].rgba = rgba;
        frames[i].width = w;
        frames[i].height = h;
        frames[i].box = box;
        pthread_create(&threads[i], NULL, detect_in_thread, &frames[i]);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK(frames[i].happy == 5, "thread %d: 5 of 5 detections happy", i);
    }

    check_game_loop(client, rgba, w, h, box, timing);
    emotion_client_free(client);
    check_remote(rgba, w, h, box, argv[9], argv[10], argv[11]);
    free(rgba);

    printf("%s: %d failed\n", failures == 0 ? "PASS" : "FAIL", failures);
    return failures == 0 ? 0 : 1;
}
