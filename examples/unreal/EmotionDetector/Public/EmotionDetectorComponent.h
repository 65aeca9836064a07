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

/** One classified frame: the dominant emotion and all seven scores. */
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
};

DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FOnEmotionChanged, const FEmotionReading&, Reading);

/**
 * Classifies the player's face with libemotion. Give it frames with SubmitFrame (a webcam
 * texture read back, a capture) or set SourceRenderTarget; each tick it hands the newest frame to
 * the library's background worker (never waiting, latest frame wins, at most SubmitsPerSecond),
 * takes the newest result, and broadcasts OnEmotionChanged when the dominant emotion changes.
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
