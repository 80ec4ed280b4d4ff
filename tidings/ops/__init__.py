"""Operations on the model: incidents, quick actions, history, on-call, metrics, status, importers."""
