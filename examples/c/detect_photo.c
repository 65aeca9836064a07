/* detect_photo.c: prints the emotion of every face in a photo, with libemotion's embedded model.
 *
 *   cargo build --release -p emotion-ffi
 *   cc -std=c11 -I bindings/c/include examples/c/detect_photo.c \
 *      -L target/release -lemotion -Wl,-rpath,target/release -o detect_photo
 *   ./detect_photo tests/fixtures/faces/group_of_four.jpg
 *   ./detect_photo tests/fixtures/faces/astronaut.jpg 178 66 94 102
 *
 * Without a box, the full-range face detector finds every face (up to EMOTION_MAX_FACES, at
 * any distance from the camera); a photo where it finds none, such as one that is already a
 * face crop, is classified whole. The four numbers (x y width height, in pixels) are a face box
 * of your own instead. */

#include "emotion.h"

#include <stdio.h>
#include <stdlib.h>

/* The last failure's message, or a note that there is none. */
static const char *why(void) {
    static char message[512];
    size_t written = 0;
    return emotion_last_error(message, sizeof message, &written) == EMOTION_OK ? message
                                                                              : "(no message)";
}

int main(int argc, char **argv) {
    emotion_client *client = NULL;
    emotion_config config = emotion_config_default();
    emotion_detection result;
    emotion_rect box;
    const emotion_rect *bounds = NULL;
    emotion_result code;
    unsigned char *photo;
    long size;
    FILE *file;
    uint32_t i;

    if (argc != 2 && argc != 6) {
        fprintf(stderr, "usage: %s PHOTO [X Y WIDTH HEIGHT]\n", argv[0]);
        return 2;
    }
    file = fopen(argv[1], "rb");
    if (file == NULL) {
        perror(argv[1]);
        return 1;
    }
    fseek(file, 0, SEEK_END);
    size = ftell(file);
    fseek(file, 0, SEEK_SET);
    photo = (unsigned char *)malloc((size_t)size);
    if (photo == NULL || fread(photo, 1, (size_t)size, file) != (size_t)size) {
        fprintf(stderr, "%s: cannot read it\n", argv[1]);
        fclose(file);
        free(photo);
        return 1;
    }
    fclose(file);
    if (argc == 6) {
        box.x = (float)atof(argv[2]);
        box.y = (float)atof(argv[3]);
        box.width = (float)atof(argv[4]);
        box.height = (float)atof(argv[5]);
        bounds = &box;
    }

    /* The short-range default suits a player in front of a camera; a photo may show faces
     * further away. */
    config.face_detector = EMOTION_FACE_DETECTOR_FULL;
    config.max_faces = EMOTION_MAX_FACES;
    code = emotion_client_new_local(&config, &client);
    if (code != EMOTION_OK) {
        fprintf(stderr, "cannot start the engine (%u): %s\n", (unsigned)code, why());
        free(photo);
        return 1;
    }
    code = emotion_detect_encoded(client, photo, (size_t)size, bounds, &result);
    free(photo);
    if (code != EMOTION_OK) {
        fprintf(stderr, "%s: %s (code %u)\n", argv[1], why(), (unsigned)code);
        emotion_client_free(client);
        return 1;
    }
    /* The top-level fields are the largest face's. */
    printf("%s %.3f\n", emotion_label(result.emotion), (double)result.confidence);
    for (i = 0; i < EMOTION_COUNT; i++) {
        printf("  %-8s %.3f\n", emotion_label(i), (double)result.scores[i]);
    }
    printf("face %.0f,%.0f %.0fx%.0f in %.2f ms (libemotion %s)\n", (double)result.face_bounds.x,
           (double)result.face_bounds.y, (double)result.face_bounds.width,
           (double)result.face_bounds.height, (double)result.processing_ms, emotion_version());
    /* Every face, largest first. */
    printf("%u face%s%s\n", (unsigned)result.face_count, result.face_count == 1 ? "" : "s",
           result.face_detected ? "" : " (none found: the whole photo)");
    for (i = 0; i < result.face_count && i < EMOTION_MAX_FACES; i++) {
        const emotion_face *face = &result.faces[i];
        printf("  face %u: %s %.3f at %.0f,%.0f %.0fx%.0f", (unsigned)i + 1,
               emotion_label(face->emotion), (double)face->confidence, (double)face->face_bounds.x,
               (double)face->face_bounds.y, (double)face->face_bounds.width,
               (double)face->face_bounds.height);
        if (face->detection_confidence > 0.0f) {
            printf(" (detector %.2f)\n", (double)face->detection_confidence);
        } else {
            printf("\n");
        }
    }
    emotion_client_free(client);
    return 0;
}
