"""Request bodies the service API tests share."""


def order(**kw) -> dict:
    body = {"asset_id": "pump-01", "type": "predictive", "failure_mode": "predicted_failure",
            "source": "predictive", "title": "Predicted failure", "risk": 0.9}
    body.update(kw)
    return body
