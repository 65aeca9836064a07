/* layout.c: prints what a C compiler makes of emotion.h, for the C# wrapper's layout test (tests/csharp/ConsoleTest.cs). */
/* Lines `name value`: `struct size`, `struct.field offset`, `struct.field.size size`, `CONSTANT value`. */

#include <stddef.h>
#include <stdio.h>

#include "emotion.h"

#define SIZE(type) printf("%s %zu\n", #type, sizeof(type))
#define FIELD(type, field)                                                 \
    do {                                                                   \
        printf("%s.%s %zu\n", #type, #field, offsetof(type, field));      \
        printf("%s.%s.size %zu\n", #type, #field, sizeof(((type *)0)->field)); \
    } while (0)
#define CONSTANT(name) printf("%s %lu\n", #name, (unsigned long)(name))

int main(void) {
    SIZE(emotion_config);
    FIELD(emotion_config, workers);
    FIELD(emotion_config, cache_entries);
    FIELD(emotion_config, cache_ttl_ms);
    FIELD(emotion_config, smoothing);
    FIELD(emotion_config, timeout_ms);
    FIELD(emotion_config, crop_margin);

    SIZE(emotion_rect);
    FIELD(emotion_rect, x);
    FIELD(emotion_rect, y);
    FIELD(emotion_rect, width);
    FIELD(emotion_rect, height);

    SIZE(emotion_detection);
    FIELD(emotion_detection, emotion);
    FIELD(emotion_detection, confidence);
    FIELD(emotion_detection, scores);
    FIELD(emotion_detection, face_bounds);
    FIELD(emotion_detection, face_detected);
    FIELD(emotion_detection, emotion_changed);
    FIELD(emotion_detection, previous_emotion);
    FIELD(emotion_detection, face_count);
    FIELD(emotion_detection, processing_ms);
    FIELD(emotion_detection, frame_id);
    FIELD(emotion_detection, dropped_frames);

    /* The types the functions take, as the C# declarations assume them. */
    SIZE(emotion_result);
    SIZE(emotion_kind);
    SIZE(bool);
    SIZE(size_t);
    printf("pointer %zu\n", sizeof(emotion_client *));

    CONSTANT(EMOTION_COUNT);
    CONSTANT(EMOTION_OK);
    CONSTANT(EMOTION_NOT_READY);
    CONSTANT(EMOTION_NULL_PARAMETER);
    CONSTANT(EMOTION_INVALID_ARGUMENT);
    CONSTANT(EMOTION_INVALID_IMAGE);
    CONSTANT(EMOTION_UNSUPPORTED_FORMAT);
    CONSTANT(EMOTION_IMAGE_TOO_LARGE);
    CONSTANT(EMOTION_INVALID_PIXELS);
    CONSTANT(EMOTION_INVALID_FACE_BOUNDS);
    CONSTANT(EMOTION_BACKEND_ERROR);
    CONSTANT(EMOTION_UNAUTHORIZED);
    CONSTANT(EMOTION_UNAVAILABLE);
    CONSTANT(EMOTION_BUFFER_TOO_SMALL);
    CONSTANT(EMOTION_INTERNAL);
    CONSTANT(EMOTION_PANIC);
    CONSTANT(EMOTION_ANGRY);
    CONSTANT(EMOTION_DISGUST);
    CONSTANT(EMOTION_FEAR);
    CONSTANT(EMOTION_HAPPY);
    CONSTANT(EMOTION_SAD);
    CONSTANT(EMOTION_SURPRISE);
    CONSTANT(EMOTION_NEUTRAL);
    CONSTANT(EMOTION_PIXEL_FORMAT_RGBA);
    CONSTANT(EMOTION_PIXEL_FORMAT_RGB);
    CONSTANT(EMOTION_PIXEL_FORMAT_BGRA);
    CONSTANT(EMOTION_PIXEL_FORMAT_BGR);
    CONSTANT(EMOTION_PIXEL_FORMAT_GRAY);
    return 0;
}
