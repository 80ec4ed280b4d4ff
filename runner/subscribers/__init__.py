"""Subscribers: readers told of public updates by e-mail or webhook, exactly once.

    reader --form--> endpoint (public listener) --> store: a request waiting for its opt-in
    sender --> confirmation mail / webhook challenge --> the reader confirms --> store: a subscriber
    branch --commits--> events (public updates only) --> store: updates, held until the page is deployed
    released update --> outbox rows (one a subscriber, in one transaction) --> sender --> SMTP / webhook

- store: the SQLite database in the runner's state folder (WAL): subscribers, opt-in requests,
  public updates seen on the branch, the outbox. Personal data lives here and nowhere else.
- addresses: what an e-mail address or a webhook URL must be; webhook hosts must resolve to public
  addresses unless the site allows private ones.
- tokens: signed, expiring confirmation links; the per-subscriber token of unsubscribe links.
- events: the commits that reached the branch, read for public updates (the public view decides).
- messages: what a notification, a confirmation and a challenge say (e-mail and JSON).
- mail, webhook: one SMTP session a connection; a POST to a checked address, never redirected.
- sender: the outbox and the opt-in requests sent, retried with backoff, bounces counted.
- service: the loop that runs them all beside `runner serve`; endpoint and pages: the public app.
- deploys: `POST /deployed` on the runner's main listener, how the pages job says what is live.
"""
