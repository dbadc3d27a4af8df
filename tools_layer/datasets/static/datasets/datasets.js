// The datasets page: create one, then go to it.
document.getElementById("create").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    const dataset = await aigc.api("POST", "/api/v1/datasets/", Object.fromEntries(form));
    location.href = `/datasets/${dataset.id}/`;
  } catch (error) { document.getElementById("create-error").textContent = error.message; }
});
