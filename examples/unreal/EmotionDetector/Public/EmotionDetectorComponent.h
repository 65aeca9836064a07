// EmotionDetectorComponent.h: an actor component that classifies the emotion of frames the game hands it, through libemotion, without stalling the game thread.

#pragma once

#include "CoreMinimal.h"
#include "Components/ActorComponent.h"
#include "EmotionDetectorComponent.generated.h"

// From emotion.h, kept out of this public header so that users of the component need not see
// the C API.
struct emotion_client;
class UTextureRenderTarget2D;

EMOTIONDETECTOR_API DECLARE_LOG_CATEGORY_EXTERN(LogEmotion, Log, All);

/** The seven emotions, in emotion_kind order. */
UENUM(BlueprintType)
enum class EEmotionKind : uint8
{
	Angry,
	Disgust,
	Fear,
	Happy,
	Sad,
	Surprise,
	Neutral,
};

/** How the library finds faces in frames that come without a box (emotion_face_detector). */
UENUM(BlueprintType)
enum class EEmotionFaceDetector : uint8
{
	/** None: the whole frame is classified as one face. */
	Off,
	/** BlazeFace short range: a player within about 2 m of the camera (~5 ms a frame). */
	Short,
	/** BlazeFace full range: faces at any distance (~17 ms a frame). */
	Full,
};

/** One face of a frame (emotion_face). */
USTRUCT(BlueprintType)
struct EMOTIONDETECTOR_API FEmotionFace
{
	GENERATED_BODY()

	/** The face's track: the same number while it stays in view, never reused (from 1 up); 0 for the whole
	 * frame's answer when the detector found no face. */
	UPROPERTY(BlueprintReadOnly, Category = "Emotion")
	int64 TrackId = 0;

	/** The face's dominant emotion, smoothed along its track. */
	UPROPERTY(BlueprintReadOnly, Category = "Emotion")
	EEmotionKind Emotion = EEmotionKind::Neutral;

	/** The emotion before this reading; equal to Emotion unless it just changed. */
	UPROPERTY(BlueprintReadOnly, Category = "Emotion")
	EEmotionKind PreviousEmotion = EEmotionKind::Neutral;

	/** The dominant emotion's score, in [0, 1]. */
	UPROPERTY(BlueprintReadOnly, Category = "Emotion")
	float Confidence = 0.f;

	/** Seven scores in EEmotionKind order, summing to 1. */
	UPROPERTY(BlueprintReadOnly, Category = "Emotion")
	TArray<float> Scores;

	/** The face's box, in pixels of the frame. */
	UPROPERTY(BlueprintReadOnly, Category = "Emotion")
	FBox2D FaceBounds = FBox2D(ForceInit);

	/** The face detector's confidence in (0, 1]. */
	UPROPERTY(BlueprintReadOnly, Category = "Emotion")
	float DetectionConfidence = 0.f;
};

/** One classified frame: the largest face's dominant emotion and all seven scores, and every face. */
USTRUCT(BlueprintType)
struct EMOTIONDETECTOR_API FEmotionReading
{
	GENERATED_BODY()

	/** The dominant (smoothed) emotion. */
	UPROPERTY(BlueprintReadOnly, Category = "Emotion")
	EEmotionKind Emotion = EEmotionKind::Neutral;

	/** The emotion before this reading; equal to Emotion unless it just changed. */
	UPROPERTY(BlueprintReadOnly, Category = "Emotion")
	EEmotionKind PreviousEmotion = EEmotionKind::Neutral;

	/** The dominant emotion's score, in [0, 1]. */
	UPROPERTY(BlueprintReadOnly, Category = "Emotion")
	float Confidence = 0.f;

	/** Seven scores in EEmotionKind order, summing to 1. */
	UPROPERTY(BlueprintReadOnly, Category = "Emotion")
	TArray<float> Scores;

	/** The face region used, in pixels of the frame (the whole frame when no box was given). */
	UPROPERTY(BlueprintReadOnly, Category = "Emotion")
	FBox2D FaceBounds = FBox2D(ForceInit);

	/** The number SubmitFrame's frame got (its result's id). */
	UPROPERTY(BlueprintReadOnly, Category = "Emotion")
	int64 FrameId = 0;

	/** Every face, largest first (Faces[0] is the face the fields above describe). */
	UPROPERTY(BlueprintReadOnly, Category = "Emotion")
	TArray<FEmotionFace> Faces;
};

DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FOnEmotionChanged, const FEmotionReading&, Reading);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FOnFaceEmotionChanged, const FEmotionFace&, Face);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FOnTrackEnded, int64, TrackId);

/**
 * Classifies the player's face with libemotion. Give it frames with SubmitFrame (a webcam
 * texture read back, a capture) or set SourceRenderTarget; each tick it hands the newest frame to
 * the library's background worker (never waiting, latest frame wins, at most SubmitsPerSecond),
 * takes the newest result, and broadcasts OnEmotionChanged when the dominant emotion changes.
 * The library finds every face itself: each one of Latest.Faces keeps its TrackId while it stays
 * in view, OnFaceEmotionChanged fires per face, and OnTrackEnded when a face has been gone for
 * TrackTimeout results.
 */
UCLASS(ClassGroup = (Emotion), meta = (BlueprintSpawnableComponent))
class EMOTIONDETECTOR_API UEmotionDetectorComponent : public UActorComponent
{
	GENERATED_BODY()

public:
	UEmotionDetectorComponent();

	/** Empty: the embedded model, in process. Else an emotion-server, "http://host:8000". */
	UPROPERTY(EditAnywhere, BlueprintReadOnly, Category = "Emotion")
	FString ServerUrl;

	/** The server's API key; empty for none. */
	UPROPERTY(EditAnywhere, BlueprintReadOnly, Category = "Emotion")
	FString ApiKey;

	/** 0 reports raw scores; values near 1 follow changes slowly. */
	UPROPERTY(EditAnywhere, BlueprintReadOnly, Category = "Emotion", meta = (ClampMin = "0", ClampMax = "1"))
	float Smoothing = 0.5f;

	/** How faces are found in the frames: Short for a player in front of the camera, Full for faces further away. */
	UPROPERTY(EditAnywhere, BlueprintReadOnly, Category = "Emotion")
	EEmotionFaceDetector FaceDetector = EEmotionFaceDetector::Short;

	/** At most this many faces are classified per frame, the largest first (1 to 8). */
	UPROPERTY(EditAnywhere, BlueprintReadOnly, Category = "Emotion", meta = (ClampMin = "1", ClampMax = "8"))
	int32 MaxFaces = 5;

	/** A face's track ends once it has been missing from this many results in a row. */
	UPROPERTY(EditAnywhere, BlueprintReadOnly, Category = "Emotion", meta = (ClampMin = "1"))
	int32 TrackTimeout = 15;

	/** Frames handed to the library per second at most; the others are skipped. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Emotion", meta = (ClampMin = "0.1"))
	float SubmitsPerSecond = 15.f;

	/**
	 * Optional: a render target read back on the game thread each submit. Simple but it waits for
	 * the GPU; for shipping, read back asynchronously and call SubmitFrame.
	 */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Emotion")
	TObjectPtr<UTextureRenderTarget2D> SourceRenderTarget;

	/** The newest reading (valid once bHasReading). */
	UPROPERTY(BlueprintReadOnly, Category = "Emotion")
	FEmotionReading Latest;

	UPROPERTY(BlueprintReadOnly, Category = "Emotion")
	bool bHasReading = false;

	/** The dominant emotion changed (and on the first reading). */
	UPROPERTY(BlueprintAssignable, Category = "Emotion")
	FOnEmotionChanged OnEmotionChanged;

	/** One face's smoothed emotion changed (its TrackId tells which face). */
	UPROPERTY(BlueprintAssignable, Category = "Emotion")
	FOnFaceEmotionChanged OnFaceEmotionChanged;

	/** A face left: it was missing from TrackTimeout results in a row. Its id is not reused. */
	UPROPERTY(BlueprintAssignable, Category = "Emotion")
	FOnTrackEnded OnTrackEnded;

	/**
	 * Keeps a copy of a frame (rows top to bottom) to be submitted at the next tick; a newer frame
	 * replaces it. FColor is BGRA in memory.
	 */
	UFUNCTION(BlueprintCallable, Category = "Emotion")
	void SubmitFrame(const TArray<FColor>& Pixels, int32 Width, int32 Height);

	/** The newest score of one emotion, 0 before the first reading. */
	UFUNCTION(BlueprintPure, Category = "Emotion")
	float GetScore(EEmotionKind Emotion) const;

	virtual void TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction) override;

protected:
	virtual void BeginPlay() override;
	virtual void EndPlay(const EEndPlayReason::Type EndPlayReason) override;
	virtual void BeginDestroy() override;

private:
	void SubmitPending();
	void Poll();
	void FreeClient();

	emotion_client* Client = nullptr;
	TArray<FColor> PendingPixels;
	int32 PendingWidth = 0;
	int32 PendingHeight = 0;
	bool bFramePending = false;
	double NextSubmitTime = 0.0;
};
