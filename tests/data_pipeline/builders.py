"""Tiny synthetic inputs in each supported format, written into a test's tmp_path."""

GENRES = "unknown Action Adventure Animation Children's Comedy Crime Documentary Drama Fantasy "
GENRES += "Film-Noir Horror Musical Mystery Romance Sci-Fi Thriller War Western"


def make_ml1m(folder, ratings="ratings.dat"):
    folder.mkdir(exist_ok=True)
    lines = b"1::10::5::978300760\n1::20::3::978300700\n2::10::4::978300800\n"
    (folder / ratings).write_bytes(lines)
    movies = "10::Caf\xe9 Society (1995)::Drama|Romance\n20::Heat (1995)::Action\n"
    (folder / "movies.dat").write_bytes(movies.encode("latin-1"))
    (folder / "users.dat").write_bytes(b"1::F::1::10::48067\n2::M::56::16::70072\n")
    return folder


def make_ml100k(folder):
    folder.mkdir(exist_ok=True)
    lines = "1\t10\t5\t881250949\n2\t10\t3\t881250950\n1\t20\t4\t881250940\n"
    (folder / "u.data").write_text(lines)
    (folder / "u.genre").write_text("".join(f"{g}|{i}\n" for i, g in enumerate(GENRES.split())))
    flags = ["0"] * 19
    flags[1] = flags[16] = "1"
    item = "10|M\xe9lodie (1995)|01-Jan-1995||http://x|" + "|".join(flags) + "\n"
    item += "20|Heat (1995)|01-Jan-1995||http://y|" + "|".join(["0"] * 19) + "\n"
    (folder / "u.item").write_bytes(item.encode("latin-1"))
    (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n")
    return folder


HEADER = "user_id:token\titem_id_list:token_seq\titem_id:token\n"
SEQUENCES = {
    "U1": ["a", "b", "c", "d", "e", "f"],
    "U2": ["c", "a", "g"],
    "U3": ["b", "b", "a", "c"],
}


def make_presplit(folder, sequences=SEQUENCES, max_len=None, name="Sci"):
    """Writes RecBole pre-split files like UniSRec's (indices, descending train rows)."""
    folder.mkdir(exist_ok=True)
    users = {u: i for i, u in enumerate(sequences)}
    items: dict[str, int] = {}
    for seq in sequences.values():
        for item in seq:
            items.setdefault(item, len(items))
    rows = {"train": [], "valid": [], "test": []}
    for user, seq in sequences.items():
        n = len(seq)
        targets = [("train", p) for p in range(n - 3, 0, -1)] + [("valid", n - 2), ("test", n - 1)]
        for split, p in targets:
            history = seq[:p][-max_len:] if max_len else seq[:p]
            ids = " ".join(str(items[i]) for i in history)
            rows[split].append(f"{users[user]}\t{ids}\t{items[seq[p]]}\n")
    for split, lines in rows.items():
        (folder / f"{name}.{split}.inter").write_text(HEADER + "".join(lines))
    (folder / f"{name}.item2index").write_text("".join(f"{k}\t{v}\n" for k, v in items.items()))
    (folder / f"{name}.user2index").write_text("".join(f"{k}\t{v}\n" for k, v in users.items()))
    text = "".join(f"{item}\tText of {item}.\n" for item in sorted(items))
    (folder / f"{name}.text").write_text("item_id:token\ttext:token_seq\n" + text)
    return folder
