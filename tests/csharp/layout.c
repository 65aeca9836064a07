/* layout.c: prints what a C compiler makes of emotion.h, for the C# wrapper's layout test (tests/csharp/ConsoleTest.cs). */
/* Lines `name value`: `struct size`, `struct.field offset`, `struct.field.size size`, `CONSTANT value`,
 * `enum:MEMBER value` for each member of an enum. */

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
#define MEMBER(type, name) printf("%s:%s %lu\n", #type, #name, (unsigned long)(name))

int main(void) {
    SIZE(emotion_config);
    FIELD(emotion_config, workers);
    FIELD(emotion_config, cache_entries);
    FIELD(emotion_config, cache_ttl_ms);
    FIELD(emotion_config, smoothing);
    FIELD(emotion_config, timeout_ms);
    FIELD(emotion_config, crop_margin);
    FIELD(emotion_config, face_detector);
    FIELD(emotion_config, max_faces);
    FIELD(emotion_config, min_face_size);
    FIELD(emotion_config, track_timeout);

    SIZE(emotion_rect);
    FIELD(emotion_rect, x);
    FIELD(emotion_rect, y);
    FIELD(emotion_rect, width);
    FIELD(emotion_rect, height);

    SIZE(emotion_face);
    FIELD(emotion_face, face_bounds);
    FIELD(emotion_face, emotion);
    FIELD(emotion_face, confidence);
    FIELD(emotion_face, scores);
    FIELD(emotion_face, detection_confidence);
    FIELD(emotion_face, emotion_changed);
    FIELD(emotion_face, previous_emotion);
    FIELD(emotion_face, track_id);

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
    FIELD(emotion_detection, faces);
    FIELD(emotion_detection, ended_tracks);
    FIELD(emotion_detection, ended_track_count);

    /* The types the functions take, as the C# declarations assume them. */
    SIZE(emotion_result);
    SIZE(emotion_kind);
    SIZE(emotion_pixel_format);
    SIZE(emotion_face_detector);
    SIZE(bool);
    SIZE(size_t);
    printf("pointer %zu\n", sizeof(emotion_client *));

    CONSTANT(EMOTION_COUNT);
    CONSTANT(EMOTION_MAX_FACES);
    MEMBER(emotion_result, EMOTION_OK);
    MEMBER(emotion_result, EMOTION_NOT_READY);
    MEMBER(emotion_result, EMOTION_NULL_PARAMETER);
    MEMBER(emotion_result, EMOTION_INVALID_ARGUMENT);
    MEMBER(emotion_result, EMOTION_INVALID_IMAGE);
    MEMBER(emotion_result, EMOTION_UNSUPPORTED_FORMAT);
    MEMBER(emotion_result, EMOTION_IMAGE_TOO_LARGE);
    MEMBER(emotion_result, EMOTION_INVALID_PIXELS);
    MEMBER(emotion_result, EMOTION_INVALID_FACE_BOUNDS);
    MEMBER(emotion_result, EMOTION_BACKEND_ERROR);
    MEMBER(emotion_result, EMOTION_UNAUTHORIZED);
    MEMBER(emotion_result, EMOTION_UNAVAILABLE);
    MEMBER(emotion_result, EMOTION_BUFFER_TOO_SMALL);
    MEMBER(emotion_result, EMOTION_INTERNAL);
    MEMBER(emotion_result, EMOTION_PANIC);
    MEMBER(emotion_kind, EMOTION_ANGRY);
    MEMBER(emotion_kind, EMOTION_DISGUST);
    MEMBER(emotion_kind, EMOTION_FEAR);
    MEMBER(emotion_kind, EMOTION_HAPPY);
    MEMBER(emotion_kind, EMOTION_SAD);
    MEMBER(emotion_kind, EMOTION_SURPRISE);
    MEMBER(emotion_kind, EMOTION_NEUTRAL);
    MEMBER(emotion_pixel_format, EMOTION_PIXEL_FORMAT_RGBA);
    MEMBER(emotion_pixel_format, EMOTION_PIXEL_FORMAT_RGB);
    MEMBER(emotion_pixel_format, EMOTION_PIXEL_FORMAT_BGRA);
    MEMBER(emotion_pixel_format, EMOTION_PIXEL_FORMAT_BGR);
    MEMBER(emotion_pixel_format, EMOTION_PIXEL_FORMAT_GRAY);
    MEMBER(emotion_face_detector, EMOTION_FACE_DETECTOR_OFF);
    MEMBER(emotion_face_detector, EMOTION_FACE_DETECTOR_SHORT);
    MEMBER(emotion_face_detector, EMOTION_FACE_DETECTOR_FULL);
    return 0;
}
