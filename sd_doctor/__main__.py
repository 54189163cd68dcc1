from sd_doctor.cli import entry

entry()
