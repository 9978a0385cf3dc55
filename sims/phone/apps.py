"""The phone's world for one episode: installed apps, their list contents, settings and toggles."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PEOPLE = (
    "Ada Lovelace", "Alan Turing", "Amara Okafor", "Ben Carter", "Chen Wei", "Dana Scully", "Diego Ramos",
    "Elena Petrova", "Farah Khan", "Grace Hopper", "Hana Sato", "Ivan Horvat", "Jonas Berg", "Kofi Mensah",
    "Lena Fischer", "Maya Cohen", "Nina Rossi", "Omar Haddad", "Priya Nair", "Quinn Walsh", "Rosa Diaz",
    "Sam Taylor", "Tariq Aziz", "Uma Patel", "Vera Novak", "Will Turner", "Yara Silva", "Zoe Martin",
)
LIST_CONTENT = {
    "Contacts": PEOPLE,
    "Messages": PEOPLE,
    "Notes": (
        "Birthday ideas", "Book list", "Camping gear", "Car service", "Dentist", "Gift cards", "Grocery list",
        "Gym plan", "House keys", "Meeting notes", "Movie night", "Packing list", "Passwords hint", "Plant care",
        "Recipes to try", "Rent", "Garden plan", "Travel plans", "Wedding", "Work ideas", "Yoga routine",
    ),
    "Recipes": (
        "Apple pie", "Banana bread", "Beef stew", "Caesar salad", "Chicken curry", "Chili con carne",
        "Falafel", "Fish tacos", "French toast", "Greek salad", "Lasagna", "Lentil soup", "Mushroom risotto",
        "Pad thai", "Pancakes", "Pasta carbonara", "Pizza margherita", "Ramen", "Shakshuka", "Sushi rolls",
        "Tomato soup", "Veggie burger",
    ),
    "Music": (
        "Autumn Leaves", "Blue Moon", "Clair de Lune", "Dancing Queen", "Fly Me to the Moon", "Hey Jude",
        "Imagine", "Jolene", "La Vie en Rose", "Moon River", "My Way", "Respect", "Riptide", "Roxanne",
        "Summertime", "Take Five", "Vogue", "Wonderwall", "Yesterday", "Zombie",
    ),
    "Files": (
        "budget.xlsx", "cv.pdf", "draft.docx", "holiday.jpg", "invoice.pdf", "lease.pdf", "notes.txt",
        "photo.png", "report.pdf", "scan.pdf", "slides.pptx", "song.mp3", "taxes.pdf", "ticket.pdf",
        "video.mp4", "wallpaper.jpg",
    ),
    "Shopping": (
        "Backpack", "Batteries", "Bike light", "Coffee beans", "Desk lamp", "Headphones", "Kettle",
        "Notebook", "Phone case", "Rain jacket", "Running shoes", "Sunglasses", "Toothbrush", "Umbrella",
        "Water bottle", "Wool socks", "Yoga mat",
    ),
}
SIMPLE_APPS = ("Clock", "Camera", "Calendar", "Weather", "Maps", "Calculator", "Gallery", "Browser", "Phone", "Mail")
SETTINGS = {
    "Network & internet": ("Wi-Fi", "Airplane mode", "Mobile data", "Data saver"),
    "Connected devices": ("Bluetooth", "NFC", "Nearby share"),
    "Display": ("Dark theme", "Adaptive brightness", "Auto-rotate screen", "Night light"),
    "Sound": ("Do not disturb", "Vibrate for calls", "Touch sounds"),
    "Battery": ("Battery saver", "Battery percentage"),
    "Notifications": ("Notification dots", "Show on lock screen"),
    "Location": ("Use location", "Wi-Fi scanning"),
    "Accessibility": ("Large text", "Color inversion", "Magnification"),
    "Privacy": ("Camera access", "Microphone access", "Show passwords"),
}
APP_NAMES = ("Settings", *LIST_CONTENT, *SIMPLE_APPS)


@dataclass
class PhoneWorld:
    """Everything that is fixed for an episode (the mutable parts live in ``PhoneState``)."""

    home_apps: list[str]
    lists: dict[str, list[str]]
    accents: dict[str, tuple[int, int, int]]
    slow_apps: set[str]
    settings: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(SETTINGS))


def make_world(rng: np.random.Generator) -> PhoneWorld:
    n_home = int(rng.integers(8, 17))
    order = rng.permutation(len(APP_NAMES))
    home = [APP_NAMES[i] for i in order[:n_home]]
    lists = {}
    for app, words in LIST_CONTENT.items():
        n = int(rng.integers(10, min(len(words), 24) + 1))
        lists[app] = sorted(words[i] for i in rng.choice(len(words), size=n, replace=False))
    accents = {app: tuple(int(v) for v in rng.integers(20, 180, 3)) for app in APP_NAMES}
    slow = {app for app in APP_NAMES if rng.random() < 0.25}
    return PhoneWorld(home_apps=home, lists=lists, accents=accents, slow_apps=slow)
