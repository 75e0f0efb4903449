"""Generates a Form 1 CSV of N new accounts with valid, distinct CCCDs and an
LDIF of equivalent entries for the ldapadd baseline. Every person invented."""
import random
import sys

n, csv_path, ldif_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = random.Random(7)
family = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
middle = ["Văn", "Thị", "Đức", "Minh", "Thu", "Quốc", "Hương", "Thanh", "Ngọc", "Hữu"]
given = ["An", "Bình", "Chi", "Dũng", "Hà", "Hải", "Lan", "Long", "Mai", "Nam", "Sơn", "Tâm", "Trang", "Tùng", "Yến"]

with open(csv_path, "w", encoding="utf-8") as csv, open(ldif_path, "w", encoding="utf-8") as ldif:
    csv.write("STT,Họ và tên,Ngày sinh,Giới tính,Số CMT/CCCD,Chức vụ,Đơn vị công tác,Nội dung đề nghị\n")
    for i in range(1, n + 1):
        female = rng.random() < 0.5
        year = rng.randint(1960, 2003)
        century = (0 if year < 2000 else 2) + (1 if female else 0)
        cccd = f"027{century}{year % 100:02d}{i:06d}"
        name = f"{rng.choice(family)} {rng.choice(middle)} {rng.choice(given)}"
        dob = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year}"
        gender = "Nữ" if female else "Nam"
        csv.write(f"{i},{name},{dob},{gender},{cccd},Chuyên viên,Phòng Nội vụ,Cấp mới\n")
        uid = f"bench{i}"
        ldif.write(
            f"dn: uid={uid},ou=people,dc=bacninh,dc=gov,dc=vn\n"
            "objectClass: inetOrgPerson\nobjectClass: inetLocalMailRecipient\n"
            f"uid: {uid}\nmail: {uid}@bacninh.gov.vn\nmailLocalAddress: {uid}@bacninh.gov.vn\n"
            f"cn: {name}\nsn: {name.split()[0]}\ngivenName: {name.split()[-1]}\ndisplayName: {name}\n"
            "title: Chuyên viên\nou: Phòng Nội vụ\n"
            f"employeeNumber: {i:064x}\n"
            "userPassword: {CRYPT}$6$saltsalt$0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\n"
            "pwdReset: TRUE\n\n"
        )
