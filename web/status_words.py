"""What an error page, or a form refused as a whole (the sign-in), says first for each
status, in English and Chinese, declared once: a title and a sentence a person acts on. The
API's words (status, code, reasons) follow beneath it, for ops; ``web.errors`` keeps those.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Said:
    """What an error page says first, in English and Chinese: its title, and a sentence a
    person acts on; the API's words (status, code, reasons) follow beneath, for ops."""

    title: str
    explained: str


# Each status's page, declared once: every status below 500 that ``web.errors`` answers or
# an address no route takes gets (tested), since the fallback's advice, to tell ops, is for
# the server's faults, not a request a person can put right.
_SAID = {
    400: Said(
        "Could not be read 无法读取",
        "What was sent could not be read; go back, reload the page and send it again. "
        "提交的内容无法读取；请返回并刷新页面后重新提交。",
    ),
    401: Said(
        "Sign in needed 需要登录",
        "Sign in with a token that is still valid to go on. 请使用仍然有效的令牌登录后继续。",
    ),
    403: Said(
        "Not allowed 无权操作",
        "Your role does not allow this; ask an admin for the role it needs if your work "
        "does. 您的角色无权执行此操作；如工作需要，请向管理员申请所需角色。",
    ),
    404: Said(
        "Not found 未找到",
        "Nothing is at this address: check it, or go back and follow a link. "
        "此地址没有内容：请核对地址，或返回后通过链接访问。",
    ),
    405: Said(
        "Not opened this way 不能这样打开",
        "This address takes what a page's button sends, not a visit; go back and use the "
        "button. 此地址只接受页面按钮提交的操作，不能直接打开；请返回并使用页面上的按钮。",
    ),
    409: Said(
        "Changed by someone else 已被他人修改",
        "Someone changed this after your page was loaded. 您的页面加载后，已有他人修改。",
    ),
    413: Said(
        "Too large 内容过大",
        "What was sent is larger than this site takes. 提交的内容超出本站可接受的大小。",
    ),
    415: Said(
        "Sent in a form not taken 提交格式不受支持",
        "What was sent is not in a form this site takes; send it from the page's form. "
        "提交内容的格式不受支持；请通过页面上的表单提交。",
    ),
    422: Said(
        "Not accepted 未通过",
        "What was sent was not accepted, for the reasons below. 提交的内容未被接受，原因如下。",
    ),
    429: Said(
        "Too many attempts 尝试过多",
        "Wait a little, then try again. 请稍候再试。",
    ),
    503: Said(
        "Temporarily unavailable 暂时无法服务",
        "A service this site needs is not answering; try again shortly. "
        "本站依赖的服务暂未响应，请稍后再试。",
    ),
}
_UNEXPECTED = Said(
    "Something went wrong 出错了",
    "This could not be done; if it happens again, tell ops the request number below. "
    "操作未能完成；如再次发生，请将下方的请求编号告知运维。",
)


def said_for(status: int) -> Said:
    """What the error page of ``status`` says first."""
    return _SAID.get(status, _UNEXPECTED)
