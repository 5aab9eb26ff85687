from tests.conftest import api_token, sign_in


def test_fixture_chain(client, make_user, make_customer):
    agent = make_user("agent", username="zhangwei")
    customer = make_customer(actor=agent, name="王小明", phone="138 0013 8000")
    assert customer.primary_phone == "+8613800138000"
    response = sign_in(client, "zhangwei")
    assert response.status_code == 302
    page = client.get("/customers", headers={"Accept-Language": "zh-CN"})
    assert "王小明" in page.text
    headers = api_token(client, "zhangwei")
    found = client.get("/api/v1/customers?q=13800138000", headers=headers).get_json()
    assert found["total"] == 1
