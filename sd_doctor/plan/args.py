"""COMMANDLINE_ARGS as flag groups, and the merge of a plan into them.

A flag with the values that follow it (only for ``VALUE_FLAGS``) is one group; every other token stands alone, so
the user's unknown flags and their values stay exactly as they were, in order.
"""

from sd_doctor.core.text import T

# Flags whose values follow them as separate tokens (nargs): --precision takes one, --use-cpu one or more.
VALUE_FLAGS = {"--precision": 1, "--use-cpu": "+"}


def split_groups(tokens):
    """[(flag or None, [tokens])]: a flag with the values that belong to it (only for VALUE_FLAGS); other tokens
    stand alone, so unknown flags and their values are kept exactly as they were."""
    groups = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("--"):
            name = tok.split("=", 1)[0]
            if "=" not in tok and name in VALUE_FLAGS:
                j = i + 1
                want = VALUE_FLAGS[name]
                while j < len(tokens) and not tokens[j].startswith("--") and (want == "+" or j - i <= want):
                    j += 1
                groups.append((name, tokens[i:j]))
                i = j
                continue
            groups.append((name, [tok]))
        else:
            groups.append((None, [tok]))
        i += 1
    return groups


def values_of(group_tokens):
    """The values of one group: ``--flag=v`` -> [v]; ``--flag a b`` -> [a, b]."""
    if "=" in group_tokens[0]:
        return [group_tokens[0].split("=", 1)[1]]
    return group_tokens[1:]


def _same(toks, flag, want):
    """The group ``toks`` already says ``flag`` with the wanted values."""
    return (toks[0] == flag and toks[1:] == want) or (len(toks) == 1 and "=" in toks[0] and [
        toks[0].split("=", 1)[1]] == want and bool(want))


def _merge(groups, planned_by_flag, remove, reasons):
    """(kept groups, where new flags go, removed groups as text, the planned flags already present)."""
    out = []
    insert_at = None
    removed = []
    seen = set()
    for flag, toks in groups:
        if flag is not None and flag in planned_by_flag:
            same = _same(toks, flag, planned_by_flag[flag][1])
            if flag in seen or not same:
                if insert_at is None:
                    insert_at = len(out)
                if not same:
                    removed.append(" ".join(toks))
                continue
            seen.add(flag)
            out.append(toks)
            continue
        if flag is not None and flag in remove:
            if insert_at is None:
                insert_at = len(out)
            removed.append(" ".join(toks))
            if remove[flag] is not None:
                reasons[" ".join(toks) if flag in VALUE_FLAGS else flag] = remove[flag]
            continue
        out.append(toks)
    return out, (len(out) if insert_at is None else insert_at), removed, seen


def assemble(groups, planned, remove, reasons, notes, accepts):
    """Merge: keep every group not removed, in order; planned flags already present stay where they are; new ones go
    where the first removed flag was (else at the end). Flags the web UI does not accept are dropped, with a note.

    Returns (tokens, reasons, report lines + notes, removed)."""
    kept_planned = []
    for flag, values, why in planned:
        if not accepts(flag):
            notes.append(T("{flag} is not added: the installed web UI does not accept it.",
                           "未加入 {flag}：已安装的 web UI 不接受该参数。", flag=flag))
            continue
        kept_planned.append((flag, values, why))
    planned_by_flag = dict((p[0], p) for p in kept_planned)
    out, insert_at, removed, seen = _merge(groups, planned_by_flag, remove, reasons)
    out[insert_at:insert_at] = [[flag] + list(values) for flag, values, _ in kept_planned if flag not in seen]
    tokens = [t for group in out for t in group]
    lines = []
    for flag, values, why in kept_planned:
        reasons[flag] = why
        lines.append(T("{f}: {why}", "{f}：{why}", f=" ".join([flag] + list(values)), why=why))
    for item in removed:
        key = item if item in reasons else item.split()[0]
        if key in reasons and key not in planned_by_flag:
            lines.append(T("removed {f}: {why}", "已删除 {f}：{why}", f=item, why=reasons[key]))
        else:
            lines.append(T("replaced {f}", "已替换 {f}", f=item))
    return tokens, reasons, lines + notes, removed
