// Line-drawn face icons, one per emotion (the same on every system, unlike emoji fonts).
const FEATURES = {
  angry:
    '<path d="M7.4 7.6l3.1 1.6M16.6 7.6l-3.1 1.6"/><circle cx="9.2" cy="11.2" r=".6" class="dot"/><circle cx="14.8" cy="11.2" r=".6" class="dot"/><path d="M8.6 16.4q3.4-2.4 6.8 0"/>',
  disgust:
    '<path d="M7.6 8.2l2.6.6M14.2 7.4l2.4-.9"/><path d="M7.9 10.8h2.4M13.7 10.8h2.4"/><path d="M8.2 15.9l1.9-1 1.9 1 1.9-1 1.9 1"/>',
  fear:
    '<path d="M7.4 8.4l2.8-1.6M16.6 8.4l-2.8-1.6"/><circle cx="9.2" cy="10.8" r="1.15"/><circle cx="14.8" cy="10.8" r="1.15"/><path d="M8.4 16.2q.9-.9 1.8 0t1.8 0t1.8 0t1.8 0"/>',
  happy:
    '<path d="M7.7 10.3q1.3-1.6 2.6 0M13.7 10.3q1.3-1.6 2.6 0"/><path d="M7.6 13.4h8.8a4.4 4.4 0 0 1-8.8 0z" class="shade"/>',
  sad:
    '<path d="M7.6 8.6l2.6-1M16.4 8.6l-2.6-1"/><circle cx="9.2" cy="10.9" r=".6" class="dot"/><circle cx="14.8" cy="10.9" r=".6" class="dot"/><path d="M8.6 16.6q3.4-3 6.8 0"/>',
  surprise:
    '<path d="M7.6 7.2q1.6-1.2 3.2 0M13.2 7.2q1.6-1.2 3.2 0"/><circle cx="9.2" cy="10.2" r="1.2"/><circle cx="14.8" cy="10.2" r="1.2"/><ellipse cx="12" cy="15.6" rx="1.9" ry="2.3"/>',
  neutral:
    '<circle cx="9.2" cy="10.4" r=".6" class="dot"/><circle cx="14.8" cy="10.4" r=".6" class="dot"/><path d="M8.8 15.4h6.4"/>',
  unknown:
    '<circle cx="9.2" cy="10.4" r=".6" class="dot"/><circle cx="14.8" cy="10.4" r=".6" class="dot"/><path d="M9 15.2q3 1.4 6 0"/>',
};

/** The SVG markup of the face for `name` (an emotion; anything else gets a plain face). */
export function faceSvg(name) {
  const features = FEATURES[name] ?? FEATURES.unknown;
  return `<svg class="face" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><circle cx="12" cy="12" r="9.6" class="head"/>${features}</svg>`;
}

/** Puts the face for `name` into `element` (only when it changed). */
export function setFace(element, name) {
  if (element.dataset.face === name) return;
  element.dataset.face = name;
  element.innerHTML = faceSvg(name);
}
