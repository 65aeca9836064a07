// EmotionAvatar.cs: Unity MonoBehaviour that mirrors the webcam user's emotion onto an avatar's blendshapes via libemotion.
//
// Needs UnityEngine, so it is not compiled by the repository's tests (EmotionDetector.cs is).
// Each frame: copy the camera image into a reused buffer, Submit it at most `submitsPerSecond`
// times a second (never waiting: the engine's worker classifies in the background, latest frame
// wins), TryPoll the newest result, and ease the blendshape weights towards its seven scores.
// The library finds the faces itself (no box given): the avatar follows the largest one, and
// every face it reports carries a track id that stays the same while that face is in view.

using FacialEmotion;
using UnityEngine;

public class EmotionAvatar : MonoBehaviour
{
    [Tooltip("The face mesh whose blendshapes show the emotion.")]
    public SkinnedMeshRenderer face;

    [Tooltip("Blendshape index per emotion, in order: angry, disgust, fear, happy, sad, surprise, neutral. -1: none.")]
    public int[] blendShapeIndex = { -1, -1, -1, -1, -1, -1, -1 };

    [Tooltip("Blendshape weight at a score of 1 (Unity's blendshapes run 0-100).")]
    public float maxWeight = 100f;

    [Tooltip("How fast the weights follow the scores, per second (higher: snappier).")]
    public float followSpeed = 8f;

    [Tooltip("Frames handed to the engine per second; the rest are skipped.")]
    public float submitsPerSecond = 15f;

    [Tooltip("Engine-side smoothing of the scores in [0, 1]; 0 reports raw scores.")]
    [Range(0f, 1f)] public float smoothing = 0.5f;

    [Tooltip("How the library finds faces in the camera image: Short for a player in front of it, Full for faces further away.")]
    public EmotionFaceDetector faceDetector = EmotionFaceDetector.Short;

    [Tooltip("Webcam device name; empty: the default camera.")]
    public string deviceName = "";
    public int requestedWidth = 640;
    public int requestedHeight = 480;

    EmotionDetector detector;
    WebCamTexture webcam;
    Color32[] pixels;
    readonly float[] targets = new float[EmotionScores.Count];
    readonly float[] weights = new float[EmotionScores.Count];
    float nextSubmit;

    void OnValidate()
    {
        // Keep one slot per emotion in the inspector.
        if (blendShapeIndex == null || blendShapeIndex.Length != EmotionScores.Count)
        {
            var resized = new int[EmotionScores.Count];
            for (int i = 0; i < resized.Length; i++)
                resized[i] = blendShapeIndex != null && i < blendShapeIndex.Length ? blendShapeIndex[i] : -1;
            blendShapeIndex = resized;
        }
    }

    void Start()
    {
        EmotionConfig config = EmotionConfig.Default;
        config.Smoothing = smoothing;
        config.FaceDetector = faceDetector;
        // The embedded model runs in this process; EmotionDetector.Server("http://host:8000")
        // would offload it to an emotion-server instead.
        detector = EmotionDetector.Local(config);
        Debug.Log("libemotion " + EmotionDetector.Version + ", model " + detector.Model);

        webcam = new WebCamTexture(deviceName, requestedWidth, requestedHeight);
        webcam.Play();
    }

    void Update()
    {
        if (detector == null) return;

        // A WebCamTexture reports 16x16 until the first real frame arrives.
        if (webcam != null && webcam.didUpdateThisFrame && webcam.width > 16 && Time.unscaledTime >= nextSubmit)
        {
            nextSubmit = Time.unscaledTime + 1f / Mathf.Max(submitsPerSecond, 0.1f);
            int w = webcam.width, h = webcam.height;
            if (pixels == null || pixels.Length != w * h) pixels = new Color32[w * h];
            webcam.GetPixels32(pixels);
            // GetPixels32 gives the bottom row first; the engine reads the top row first. A face
            // box from your own detector (top-left origin) would go in the faceBounds argument.
            detector.Submit(pixels, w, h, EmotionPixelFormat.Rgba, null, flipVertically: true);
        }

        try
        {
            EmotionResult result;
            if (detector.TryPoll(out result))
            {
                // The top-level scores are the largest face's (Faces[0]).
                result.Scores.CopyTo(targets);
                // Every face, largest first. To give each player their own avatar, key them by
                // TrackId: it stays the same while the face is in view and is never reused.
                for (int i = 0; i < result.FaceCount; i++)
                {
                    EmotionFace f = result.Faces[i];
                    if (f.EmotionChanged)
                        Debug.Log("face " + f.TrackId + ": " + EmotionDetector.Label(f.PreviousEmotion) + " → " + EmotionDetector.Label(f.Emotion));
                }
                // Faces gone for EmotionConfig.TrackTimeout results: release what was keyed by their id.
                for (int i = 0; i < result.EndedTrackCount && i < EmotionTrackIds.Count; i++)
                    Debug.Log("face " + result.EndedTracks[i] + " left");
            }
        }
        catch (EmotionException e)
        {
            // A frame that failed in the engine (with a remote client: a network error); the next one may work.
            Debug.LogWarning("emotion frame failed (" + e.Code + "): " + e.Message);
        }

        // Frame-rate independent easing towards the latest scores.
        float t = 1f - Mathf.Exp(-followSpeed * Time.deltaTime);
        int shapes = face != null && face.sharedMesh != null ? face.sharedMesh.blendShapeCount : 0;
        for (int i = 0; i < EmotionScores.Count; i++)
        {
            weights[i] = Mathf.Lerp(weights[i], targets[i] * maxWeight, t);
            int index = blendShapeIndex[i];
            if (index >= 0 && index < shapes)
                face.SetBlendShapeWeight(index, weights[i]);
        }
    }

    void OnDestroy()
    {
        if (webcam != null)
        {
            webcam.Stop();
            Destroy(webcam);
            webcam = null;
        }
        if (detector != null)
        {
            detector.Dispose();
            detector = null;
        }
    }
}
