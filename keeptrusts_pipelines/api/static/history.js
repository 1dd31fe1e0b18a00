// Refresh the history table while jobs run; the page works without this script.
(function () {
  const box = document.getElementById("history-box");
  if (!box) return;
  async function refresh() {
    const table = document.getElementById("history");
    if (!table || !table.dataset.running) return;
    try {
      const answer = await fetch("/exports/history", { credentials: "same-origin" });
      if (answer.ok) box.innerHTML = await answer.text();
    } catch (error) {
      // A missed refresh is retried on the next tick.
    }
  }
  setInterval(refresh, 1500);
})();
