"""The timeline in both languages: every line the console shows in English has its Chinese
twin, words the log keeps as codes are told in Chinese, and the API sends both."""

from web.timeline_text import CHINESE, ENGLISH


def test_every_english_line_has_a_chinese_one() -> None:
    assert set(CHINESE) == set(ENGLISH)


def test_the_incident_says_its_timeline_in_both_languages(client, centre) -> None:
    r = client.post("/v1/calls", json={"hotline": "120", "kind": "drowning", "text": "swimmer",
                                       "location": {"lon": centre[0], "lat": centre[1]}})
    inc = r.json()["incident_id"]
    blown = client.post(f"/v1/incidents/{inc}/whistle", json={"by": "Dr Xu", "agency": "120"})
    assert blown.status_code == 201
    lines = client.get(f"/v1/incidents/{inc}").json()["timeline"]
    assert lines and all(t["summary"] and t["summary_zh"] for t in lines)
    zh = " ".join(t["summary_zh"] for t in lines)
    assert "立案" in zh and "吹哨" in zh and "召集人" in zh and "救护车" in zh
    assert "Dr Xu" in zh  # a name stays as written
