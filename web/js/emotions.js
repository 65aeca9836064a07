// The seven emotions: their order and colours, shared by every view.
export const EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];

export const COLOR = {
  angry: "#f25f5c",
  disgust: "#7bc950",
  fear: "#a78bfa",
  happy: "#fbbf24",
  sad: "#4f9cf9",
  surprise: "#fb8c3c",
  neutral: "#9aa4b8",
};

/** The emotion with the highest score, or null when there are no scores. */
export function topEmotion(scores) {
  let best = null;
  for (const name of EMOTIONS) {
    if (typeof scores?.[name] === "number" && (best === null || scores[name] > scores[best])) {
      best = name;
    }
  }
  return best;
}
