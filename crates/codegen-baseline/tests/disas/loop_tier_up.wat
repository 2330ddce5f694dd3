;;! tier_up = true
;; Budget charged at entry and on the back edge; the tier-up call saves live registers.
(module
  (func (param i32) (result i32) (local i32)
    (loop $l
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get 1)))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000061h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: sub     dword ptr [rbx+28h],19h
;;     28: js      0000000000000063h
;;     2e: xor     eax,eax
;;     30: mov     rcx,rax
;;     33: add     ecx,esi
;;     35: mov     rax,rsi
;;     38: sub     eax,1
;;     3b: test    eax,eax
;;     3d: je      0000000000000055h
;;     43: mov     rsi,rax
;;     46: mov     rax,rcx
;;     49: sub     dword ptr [rbx+28h],10h
;;     4d: js      000000000000007Fh
;;     53: jmp     short 0000000000000030h
;;     55: mov     rax,rcx
;;     58: mov     rbx,[rbp-8]
;;     5c: mov     rsp,rbp
;;     5f: pop     rbp
;;     60: ret
;;     61: ud2  ; trap: StackOverflow
;;     63: push    rsi
;;     64: sub     rsp,8
;;     68: mov     rdi,rbx
;;     6b: mov     esi,0
;;     70: mov     r11,[rbx+10h]
;;     74: call    qword ptr [r11+68h]
;;     78: add     rsp,8
;;     7c: pop     rsi
;;     7d: jmp     short 000000000000002Eh
;;     7f: push    rsi
;;     80: push    rax
;;     81: mov     rdi,rbx
;;     84: mov     esi,0
;;     89: mov     r11,[rbx+10h]
;;     8d: call    qword ptr [r11+68h]
;;     91: pop     rax
;;     92: pop     rsi
;;     93: jmp     short 0000000000000053h
