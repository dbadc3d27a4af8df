// The generators page: promote a validated version to production, or roll production back.
document.addEventListener("click", async (event) => {
  const promote = event.target.dataset.promote, rollback = event.target.dataset.rollback;
  if (!promote && !rollback) return;
  try {
    if (promote) {
      const [slug, number] = promote.split("/");
      await aigc.api("POST", `/api/v1/generators/${slug}/versions/${number}/promote/`, {stage: "production"});
    } else {
      await aigc.api("POST", `/api/v1/generators/${rollback}/rollback/`);
    }
    location.reload();
  } catch (error) {
    document.getElementById("action-error").textContent = error.message;
  }
});
