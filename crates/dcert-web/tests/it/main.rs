mod email;
