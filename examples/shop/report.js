// The shop's nightly report (started by the cron trigger in nimbus.yaml; its event carries the tick).
export default {
  async fetch(request) {
    const event = await request.json().catch(() => ({}));
    return Response.json({ report: 'nightly', at: event.time ?? new Date().toISOString() });
  },
};
