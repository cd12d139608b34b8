// Data Saver (lms/web/data_saver.py): a lesson's skipped video is loaded, in its place, only
// when the learner taps "Watch the video". The player waits inert in the placeholder's
// <template>; without this script the button is a link to the lesson with its videos.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-load-video]");
  const figure = button && button.closest(".video-skipped");
  const template = figure && figure.querySelector("template");
  if (!template) return;
  event.preventDefault();
  const player = template.content.firstElementChild.cloneNode(true);
  figure.replaceWith(player);
  // The course's own video starts at once: the tap asked for it (YouTube's and Vimeo's
  // players have their own play button).
  if (player.tagName === "VIDEO") player.play().catch(() => {});
});
