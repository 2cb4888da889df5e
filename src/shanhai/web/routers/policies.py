"""``/policies``: the per-mu evaluation presets (policy documents as data) and two of them side
by side with every field that differs (``policy.diff``). Presets are public policy, the same for
every signed-in user."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from shanhai.errors import ShanhaiError
from shanhai.jobs import dashboard
from shanhai.store.accounts import User
from shanhai.web.deps import PageError, current_user, render
from shanhai.web.screens import FMT

router = APIRouter()
NAV = [(50, "/policies", "评价办法", "Presets", None)]


@router.get("/policies", name="policies")
def policies_page(request: Request, a: str | None = Query(None), b: str | None = Query(None),
                  user: User = Depends(current_user)):
    presets = dashboard.presets_list()
    names = [p["name"] for p in presets]
    if not presets:
        return render(request, "policies.html", {"presets": [], "cmp": None, "a": None, "b": None, "fmt": FMT})
    a = a or names[0]
    b = b or (names[1] if len(names) > 1 else names[0])
    try:
        cmp = dashboard.presets_compare(a, b)
    except ShanhaiError as exc:
        raise PageError(404, f"没有该评价办法：{exc}", f"No such preset: {exc}") from None
    return render(request, "policies.html", {"presets": presets, "cmp": cmp, "a": a, "b": b, "fmt": FMT})
